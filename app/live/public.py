"""What anonymous clients (viewers not signed in, overlays) get when they join a channel: the
same snapshot for all of them, rendered once and handed out until an event of the channel (a
pool's totals or transition, a chat message, the leaderboard) is heard, or for at most
``FRESH_SECONDS`` (what changes without an event: the channel's name and links).

A copy is only handed to a join that entered the channel's room after the copy's render began
with no event heard since: whatever changed later reaches that client as an event."""

from typing import Any

import msgspec

from app.kit.copies import Copies
from app.kit.resources import Resources
from app.kit.uow import read_session
from app.live.service import live_service

FRESH_SECONDS = 2.0
MAX_CHANNELS = 10_000


class PublicSnapshots:
    def __init__(self) -> None:
        self._copies: Copies[dict[str, Any]] = Copies(MAX_CHANNELS)

    def heard(self, event: str, data: Any) -> None:
        """An event delivered to a channel's room: its copy is out of date."""
        if isinstance(data, dict) and isinstance(channel_id := data.get("channel_id"), int):
            self._copies.changed(channel_id, drop=True)

    async def snapshot(self, resources: Resources, channel_id: int) -> dict[str, Any]:
        """The anonymous snapshot of the channel (as plain data), for a join that has entered
        its room already."""
        copy = self._copies.get(channel_id)
        if (
            copy is not None
            and self._copies.current(channel_id, copy)
            and copy.age <= FRESH_SECONDS
        ):
            return copy.value

        async def make() -> dict[str, Any]:
            async with read_session(resources) as session:
                snapshot = await live_service.snapshot(session, resources, channel_id, None)
            body: dict[str, Any] = msgspec.to_builtins(snapshot)
            return body

        return (await self._copies.render(channel_id, make)).value
