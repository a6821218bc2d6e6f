"""A stream as a streamer and two chatters live it, every step through Twitch's signed EventSub
deliveries to /webhooks/twitch: the stream goes live and its pool opens, both chatters bet from
chat, the stream ends and the pool locks, a Twitch moderator resolves it from chat, it settles,
and the bot names the winner in chat. The ledger check runs after (autouse)."""

import httpx

from app.kit.uow import unit_of_work
from app.models.user import User
from tests.command.conftest import BROADCASTER, SECRET, Stream
from tests.factories import DEFAULT_PASSWORD, bearer
from tests.fakes.twitch import objects, signing


async def _owner_headers(stream: Stream) -> dict[str, str]:
    async with unit_of_work(stream.resources) as session:
        owner = await session.get(User, stream.owner_id)
        assert owner is not None and owner.email is not None
        email = owner.email
    login = await stream.client.post(
        "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 200, login.text
    return bearer(login.json()["access_token"])


async def _stream_event(stream: Stream, kind: str, event: objects.JsonObject) -> None:
    subscription = objects.subscription(
        kind, {"broadcaster_user_id": BROADCASTER}, {"method": "webhook"}
    )
    delivery = signing.notification(subscription, event, SECRET)
    answer = await stream.client.post(
        "/webhooks/twitch", content=delivery.body, headers=delivery.headers
    )
    assert answer.status_code == 200, answer.text
    await stream.handle()


async def _pools(client: httpx.AsyncClient, channel_id: int) -> list[dict[str, object]]:
    answer = await client.get(f"/api/v1/channels/{channel_id}/pools")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return list(body["pools"] if isinstance(body, dict) else body)


async def test_a_stream_from_going_live_to_the_winners_named_in_chat(stream: Stream) -> None:
    client, owner = stream.client, await _owner_headers(stream)
    # The streamer's setup, over REST: a template, two automations, Twitch moderators allowed.
    template = await client.post(
        f"/api/v1/channels/{stream.channel_id}/templates",
        json={"name": "first-try", "title": "Boss first try?", "outcomes": ["Yes", "No"]},
        headers=owner,
    )
    assert template.status_code == 201, template.text
    for rule in (
        {"kind": "stream_online", "template_id": template.json()["id"]},
        {"kind": "stream_offline", "offline_action": "lock"},
    ):
        created = await client.post(
            f"/api/v1/channels/{stream.channel_id}/automations", json=rule, headers=owner
        )
        assert created.status_code == 201, created.text
    allowed = await client.patch(
        f"/api/v1/channels/{stream.channel_id}",
        json={"twitch_moderators_run_pools": True},
        headers=owner,
    )
    assert allowed.status_code == 200, allowed.text

    await _stream_event(
        stream, "stream.online", objects.stream_online_event(BROADCASTER, "streamer")
    )
    [pool] = await _pools(client, stream.channel_id)
    assert pool["status"] == "open" and pool["title"] == "Boss first try?"

    await stream.say("!bet 1 300", chatter="701", login="alice")
    await stream.say("!bet no 100", chatter="702", login="bob")
    await stream.handle()
    live = (await client.get(f"/api/v1/pools/{pool['id']}")).json()
    assert [o["total"] for o in live["outcomes"]] == [300, 100]

    await _stream_event(
        stream, "stream.offline", objects.stream_offline_event(BROADCASTER, "streamer")
    )
    assert (await client.get(f"/api/v1/pools/{pool['id']}")).json()["status"] == "locked"

    await stream.say("!resolve yes", chatter="703", login="modmia", badges=("moderator",))
    await stream.handle()
    settled = (await client.get(f"/api/v1/pools/{pool['id']}")).json()
    assert settled["status"] == "settled"

    said = await stream.replies()
    assert any("won" in line and "@Alice +400" in line for line in said), said
    # Each chatter got the sign-up grant once, then won or lost their stake.
    balances = {}
    for login in ("alice", "bob"):
        await stream.say("!balance", chatter={"alice": "701", "bob": "702"}[login], login=login)
    await stream.handle()
    said = await stream.replies()
    for line in (part for message in said for part in message.split(" · ")):
        for login in ("Alice", "Bob"):
            if line.startswith(f"@{login} you have"):
                balances[login] = int(line.split("you have ")[1].split(" ")[0].replace(",", ""))
    assert balances == {"Alice": 1_000 + 100, "Bob": 1_000 - 100}, said
