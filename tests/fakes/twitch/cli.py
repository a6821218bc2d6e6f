"""``python -m tests.fakes.twitch``: the fake Twitch (OAuth, Helix, EventSub WebSocket) on
127.0.0.1, and ``... send`` to POST a signed EventSub delivery to a webhook endpoint."""

import argparse
import asyncio

from tests.fakes.twitch import objects
from tests.fakes.twitch.objects import JsonObject
from tests.fakes.twitch.server import FakeTwitch
from tests.fakes.twitch.signing import Delivery, notification, post, revocation, verification
from tests.fakes.twitch.websocket import FakeEventSubWebSocket

EVENTS = (
    "stream.online",
    "stream.offline",
    "channel.chat.message",
    "channel.prediction.begin",
    "channel.prediction.progress",
    "channel.prediction.lock",
    "channel.prediction.end",
    "verification",
    "revocation",
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.twitch", description="A fake Twitch on 127.0.0.1."
    )
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the fake (the default)")
    serve.add_argument("--port", type=int, default=12112)
    serve.add_argument("--ws-port", type=int, default=12113)
    send = commands.add_parser("send", help="POST one signed EventSub delivery")
    send.add_argument("event", choices=EVENTS)
    send.add_argument("--url", required=True, help="the webhook endpoint")
    send.add_argument("--secret", required=True, help="the subscription's secret")
    send.add_argument("--broadcaster-id", default="1337")
    send.add_argument("--broadcaster-login", default="ada")
    send.add_argument("--text", default="!bet yes 100", help="a chat message's text")
    send.add_argument("--chatter-id", default="777")
    send.add_argument("--chatter-login", default="grace")
    send.add_argument("--badge", action="append", default=[], help="moderator, vip, ...")
    args = parser.parse_args(argv)
    if args.command == "send":
        delivery = build_delivery(args)
        response = asyncio.run(post(args.url, delivery))
        print(
            f"[fake twitch] {args.event} {delivery.message_id}: {response.status_code} {response.text[:200]}"
        )
        if not 200 <= response.status_code < 300:
            raise SystemExit(1)
        return
    port = getattr(args, "port", 12112)
    ws_port = getattr(args, "ws_port", 12113)
    asyncio.run(serve_forever(port, ws_port))


async def serve_forever(port: int, ws_port: int) -> None:
    fake = await FakeTwitch().start(port=port)
    websocket = await FakeEventSubWebSocket().start(port=ws_port)
    fake.add_user("1337", "ada", "Ada")
    fake.add_user("4242", "streampools_bot")
    broadcaster = fake.issue_token("1337", ["channel:manage:predictions", "user:read:chat"])
    bot = fake.issue_token("4242", ["user:write:chat", "user:read:chat", "user:bot"])

    def say(line: str) -> None:
        print(f"[fake twitch] {line}", flush=True)

    say(f"OAuth on {fake.id_url}, Helix on {fake.helix_url}, EventSub WebSocket on {websocket.url}")
    say(f"client id {fake.client_id}, client secret {fake.client_secret}")
    say(
        f"users: ada (1337) token {broadcaster.access_token}; streampools_bot (4242) token {bot.access_token}"
    )
    say(f"sign in: {fake.id_url}/oauth2/authorize?...&fake_user_id=1337 redirects with a code")
    try:
        await asyncio.Event().wait()
    finally:
        await websocket.stop()
        await fake.stop()


def build_delivery(args: argparse.Namespace) -> Delivery:
    kind: str = args.event
    broadcaster = {"broadcaster_user_id": args.broadcaster_id}
    transport = {"method": "webhook", "callback": args.url}
    if kind in ("verification", "revocation"):
        subscription = objects.subscription("stream.online", broadcaster, transport)
        if kind == "verification":
            return verification(subscription, args.secret)
        return revocation(subscription, args.secret)
    condition = broadcaster | ({"user_id": "4242"} if kind == "channel.chat.message" else {})
    subscription = objects.subscription(kind, condition, transport)
    return notification(subscription, _event(kind, args), args.secret)


def _event(kind: str, args: argparse.Namespace) -> JsonObject:
    if kind == "stream.online":
        return objects.stream_online_event(args.broadcaster_id, args.broadcaster_login)
    if kind == "stream.offline":
        return objects.stream_offline_event(args.broadcaster_id, args.broadcaster_login)
    if kind == "channel.chat.message":
        return objects.chat_message_event(
            args.broadcaster_id,
            args.broadcaster_login,
            chatter_id=args.chatter_id,
            chatter_login=args.chatter_login,
            text=args.text,
            badges=[objects.badge(badge) for badge in args.badge],
        )
    phase = kind.rsplit(".", 1)[1]
    outcomes = [
        objects.outcome("o-yes", "Yes", users=3, channel_points=300),
        objects.outcome("o-no", "No", color="pink"),
    ]
    return objects.prediction_event(
        phase,
        args.broadcaster_id,
        args.broadcaster_login,
        prediction_id="p-1",
        title="Will Ada win?",
        outcomes=outcomes,
        winning_outcome_id="o-yes" if phase == "end" else None,
        status="resolved" if phase == "end" else None,
    )
