"""Sign-in checks asked for together share one Redis round trip, and each gets its own answer:
the same as checking it alone."""

import asyncio

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from app.auth import revocation
from app.auth.errors import RoleChanged, SessionRevoked
from app.auth.tokens import Principal
from app.models.user import Role


async def test_checks_asked_together_each_get_their_own_answer(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis = Redis.from_url(redis_url)
    try:
        await revocation.mark_session_ended(redis, "ended-family", "signed_out", 60)
        await revocation.mark_role(redis, 2, Role.admin, 60)
        principals = [
            Principal(1, Role.user, "live-family"),
            Principal(1, Role.user, "ended-family"),
            Principal(2, Role.user, "other-family"),  # now an admin: the token says user
            Principal(2, Role.admin, "other-family"),
            Principal(3, Role.user, None),
        ]
        round_trips = 0
        execute = Pipeline.execute

        async def counted(self: Pipeline, raise_on_error: bool = True) -> list[object]:
            nonlocal round_trips
            round_trips += 1
            return await execute(self, raise_on_error)

        monkeypatch.setattr(Pipeline, "execute", counted)
        checks = revocation.SharedChecks(lambda: redis)
        together = await asyncio.gather(*(checks.why_refused(p) for p in principals))
        monkeypatch.undo()
        alone = [await revocation.why_refused(redis, p) for p in principals]
    finally:
        await redis.aclose()
    assert round_trips == 1
    assert [type(answer) for answer in together] == [
        type(None),
        SessionRevoked,
        RoleChanged,
        type(None),
        type(None),
    ]
    assert [type(answer) for answer in alone] == [type(answer) for answer in together]
