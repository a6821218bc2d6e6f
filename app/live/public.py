"""What anonymous clients (viewers not signed in, overlays) get when they join a channel: the
same snapshot for all of them, rendered once and handed out until an event of the channel (a
pool's totals or transition, a chat message, the leaderboard) is heard, or for at most
``FRESH_SECONDS`` (what changes without an event: the channel's name and links).

A copy is only handed to a join that entered the channel's room after the copy's render began
with no event heard since: whatever changed later reaches that client as an event."""

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import msgspec

from app.kit.resources import Resources
from app.kit.uow import read_session
from app.live.service import live_service

FRESH_SECONDS = 2.0
MAX_CHANNELS = 10_000


@dataclass(frozen=True)
class Copy:
    body: dict[str, Any]
    rendered_at: float
    generation: int


class PublicSnapshots:
    def __init__(self) -> None:
        self._copies: OrderedDict[int, Copy] = OrderedDict()
        self._generations: dict[int, int] = {}
        self._renders: dict[tuple[int, int], asyncio.Future[dict[str, Any]]] = {}

    def heard(self, event: str, data: Any) -> None:
        """An event delivered to a channel's room: its copy is out of date."""
        if not isinstance(data, dict):
            return
        channel_id = data.get("channel_id")
        if isinstance(channel_id, int) and (
            channel_id in self._copies or channel_id in self._generations
        ):
            self._generations[channel_id] = self._generations.get(channel_id, 0) + 1
            self._copies.pop(channel_id, None)

    async def snapshot(self, resources: Resources, channel_id: int) -> dict[str, Any]:
        """The anonymous snapshot of the channel (as plain data), for a join that has entered
        its room already."""
        generation = self._generations.setdefault(channel_id, 0)
        copy = self._copies.get(channel_id)
        if (
            copy is not None
            and copy.generation == generation
            and time.monotonic() - copy.rendered_at <= FRESH_SECONDS
        ):
            self._copies.move_to_end(channel_id)
            return copy.body
        key = (channel_id, generation)
        if (running := self._renders.get(key)) is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._renders[key] = future
        try:
            async with read_session(resources) as session:
                snapshot = await live_service.snapshot(session, resources, channel_id, None)
            body: dict[str, Any] = msgspec.to_builtins(snapshot)
            if self._generations.get(channel_id) == generation:
                self._copies[channel_id] = Copy(body, time.monotonic(), generation)
                self._copies.move_to_end(channel_id)
                while len(self._copies) > MAX_CHANNELS:
                    dropped, _ = self._copies.popitem(last=False)
                    self._generations.pop(dropped, None)
            future.set_result(body)
            return body
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters get it, nobody else must
            raise
        finally:
            del self._renders[key]
