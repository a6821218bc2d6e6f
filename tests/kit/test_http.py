"""The HTTP plumbing stays quiet about requests it refuses on purpose: one line per real event."""

import asyncio
import gc
import logging

import httpx
import pytest


async def test_unauthenticated_requests_log_no_asyncio_errors(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for _ in range(20):
        # Needs a principal and a unit of work: the two used to be resolved side by side.
        answer = await client.post("/api/v1/pools/1/lock")
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "not_authenticated"
    gc.collect()  # what the collector finalises late is logged then
    await asyncio.sleep(0.05)
    assert [record.getMessage() for record in caplog.records] == []
