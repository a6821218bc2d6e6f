"""``python -m tests.fakes.youtube``: the fake Google OAuth and YouTube Data API on 127.0.0.1;
``... live`` starts a broadcast of a channel (with its live chat), ``... say`` writes in it, as
a viewer does on YouTube."""

import argparse
import asyncio
import os

import httpx

from tests.fakes.youtube.server import FakeYouTube

DEFAULT_PORT = 12116
ADA = "UCAda1337"
BOT = "UCBot4242"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.youtube", description="A fake YouTube on 127.0.0.1."
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("FAKE_YOUTUBE_URL", f"http://127.0.0.1:{DEFAULT_PORT}"),
        help="the running fake (for live and say)",
    )
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the fake (the default)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    live = commands.add_parser("live", help="the channel goes live (a broadcast and its chat)")
    live.add_argument("--channel", default=ADA)
    live.add_argument("--offline", action="store_true", help="the broadcast ends instead")
    say = commands.add_parser("say", help="a viewer writes in the channel's live chat")
    say.add_argument("--channel", default=ADA)
    say.add_argument("--text", default="!bet 1 100")
    say.add_argument("--author", default="UCViewer777", help="the viewer's channel id")
    say.add_argument("--name", default="Viewer777")
    args = parser.parse_args(argv)
    if args.command == "live":
        _control(args.url, "live", {"channel": args.channel, "offline": args.offline})
    elif args.command == "say":
        body = {"channel": args.channel, "text": args.text, "author": args.author}
        _control(args.url, "say", body | {"name": args.name})
    else:
        asyncio.run(serve_forever(getattr(args, "port", DEFAULT_PORT)))


def _control(url: str, what: str, body: dict[str, object]) -> None:
    response = httpx.post(f"{url}/fake/{what}", json=body, timeout=10)
    print(f"[fake youtube] {what}: {response.status_code} {response.text[:200]}")
    if response.status_code != 200:
        raise SystemExit(1)


async def serve_forever(port: int) -> None:
    fake = await FakeYouTube().start(port=port)
    fake.add_user(ADA, "Ada")
    fake.add_user(BOT, "StreampoolsBot")

    def say(line: str) -> None:
        print(f"[fake youtube] {line}", flush=True)

    say(f"Google OAuth and the YouTube Data API on {fake.url} (API at {fake.api_url})")
    say(f"client id {fake.client_id}, client secret {fake.client_secret}")
    say(f"channels: Ada ({ADA}), StreampoolsBot ({BOT})")
    say(f"sign in: {fake.url}/o/oauth2/v2/auth?...&fake_user_id={ADA} redirects with a code")
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()
