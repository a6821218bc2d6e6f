"""``python -m tests.fakes.kick``: the fake Kick (OAuth, the public API) on 127.0.0.1, and
``... send`` to POST a signed webhook delivery to the platform, as Kick does.

The fake signs with a key pair kept in ``--key-file`` (made on first use), whose public half it
serves at ``/public/v1/public-key``: the platform, with no ``STREAMPOOLS_KICK_PUBLIC_KEY`` set,
fetches it from there, as it would from Kick."""

import argparse
import asyncio
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from tests.fakes.delivery import Delivery, post
from tests.fakes.kick import objects
from tests.fakes.kick.server import FakeKick
from tests.fakes.kick.signing import new_key, private_pem, signed_delivery

EVENTS = ("chat.message.sent", "livestream.status.updated")
DEFAULT_KEY_FILE = ".data/fake-kick-key.pem"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.kick", description="A fake Kick on 127.0.0.1."
    )
    parser.add_argument("--key-file", default=DEFAULT_KEY_FILE, help="the fake's signing key")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the fake (the default)")
    serve.add_argument("--port", type=int, default=12115)
    send = commands.add_parser("send", help="POST one signed webhook delivery")
    send.add_argument("event", choices=EVENTS)
    send.add_argument("--url", required=True, help="the webhook endpoint")
    send.add_argument("--broadcaster-id", type=int, default=1337)
    send.add_argument("--broadcaster", default="Ada")
    send.add_argument("--text", default="!bet 1 100", help="a chat message's text")
    send.add_argument("--sender-id", type=int, default=777)
    send.add_argument("--sender", default="Grace")
    send.add_argument("--badge", action="append", default=[], help="moderator, vip, ...")
    send.add_argument("--offline", action="store_true", help="the stream ended (livestream...)")
    args = parser.parse_args(argv)
    key = load_key(Path(args.key_file))
    if args.command == "send":
        delivery = build_delivery(args, key)
        response = asyncio.run(post(args.url, delivery))
        print(
            f"[fake kick] {args.event} {delivery.message_id}:"
            f" {response.status_code} {response.text[:200]}"
        )
        if not 200 <= response.status_code < 300:
            raise SystemExit(1)
        return
    asyncio.run(serve_forever(getattr(args, "port", 12115), key))


def load_key(path: Path) -> RSAPrivateKey:
    """The fake's signing key, made and kept in ``path`` the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(private_pem(new_key()))
        path.chmod(0o600)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, RSAPrivateKey)
    return key


async def serve_forever(port: int, key: RSAPrivateKey) -> None:
    fake = await FakeKick(key=key).start(port=port)
    fake.add_user("1337", "Ada")
    fake.add_user("4242", "StreampoolsBot")

    def say(line: str) -> None:
        print(f"[fake kick] {line}", flush=True)

    say(f"OAuth and the public API on {fake.url}")
    say(f"client id {fake.client_id}, client secret {fake.client_secret}")
    say("users: Ada (1337), StreampoolsBot (4242)")
    say(f"sign in: {fake.url}/oauth/authorize?...&fake_user_id=1337 redirects with a code")
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


def build_delivery(args: argparse.Namespace, key: RSAPrivateKey) -> Delivery:
    if args.event == "livestream.status.updated":
        event = objects.livestream_status_event(
            args.broadcaster_id,
            args.broadcaster,
            is_live=not args.offline,
            started_at=datetime.now(UTC).replace(minute=0, second=0, microsecond=0),
        )
    else:
        event = objects.chat_message_event(
            args.broadcaster_id,
            args.broadcaster,
            sender_id=args.sender_id,
            sender=args.sender,
            content=args.text,
            badges=[objects.badge(badge) for badge in args.badge],
        )
    return signed_delivery(args.event, event, key)
