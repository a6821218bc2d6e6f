"""Events published in one round trip (``SocketEmitter.emit_many``) are the very messages
python-socketio's manager publishes one by one, in order, and the taps hear each."""

import asyncio
import json
from typing import Any

from redis.asyncio import Redis

from app.kit.emitter import SocketEmitter
from app.ledger.schemas import WalletUpdated


async def _published(redis_url: str, send: Any, count: int) -> list[dict[str, Any]]:
    redis = Redis.from_url(redis_url)
    try:
        async with redis.pubsub() as pubsub:
            await pubsub.subscribe("socketio")
            await send()
            heard: list[dict[str, Any]] = []
            async with asyncio.timeout(15):
                while len(heard) < count:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                    if message is not None:
                        heard.append(json.loads(message["data"]))
            return heard
    finally:
        await redis.aclose()


async def test_emit_many_publishes_what_emit_publishes_in_order(redis_url: str) -> None:
    emitter = SocketEmitter(redis_url)
    tapped: list[tuple[str, Any]] = []
    emitter.taps.append(lambda event, data: tapped.append((event, data)))
    events = [
        ("wallet:updated", WalletUpdated(currency="pts:1", balance=balance), f"user:{user}")
        for user, balance in ((7, 90), (8, 40), (7, 80))
    ]
    try:

        async def one_by_one() -> None:
            for event, data, room in events:
                await emitter.emit(event, data, room=room)

        async def together() -> None:
            await emitter.emit_many(events)

        alone = await _published(redis_url, one_by_one, len(events))
        batched = await _published(redis_url, together, len(events))
    finally:
        await emitter.close()
    assert batched == alone
    assert [m["room"] for m in batched] == ["user:7", "user:8", "user:7"]
    assert [m["data"][0]["balance"] for m in batched] == [90, 40, 80]
    assert tapped[:3] == tapped[3:]
    assert len(tapped) == 6
