"""Every Redis client connects with the shared options: a Redis that is not listening yet is
connected to once it is, and a command whose connection broke after it was sent fails instead of
being sent again."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.kit.embedded import free_port
from app.kit.redisconn import connection_options


class Forwarder:
    """A TCP relay to the real Redis that can drop a connection on a command, unsent."""

    def __init__(self, target: str, drop_on: bytes | None = None) -> None:
        parts = urlsplit(target)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 6379
        self._drop_on = drop_on
        self.seen: list[bytes] = []

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, watch: bool
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                if watch:
                    self.seen.append(chunk)
                    if self._drop_on is not None and self._drop_on in chunk:
                        break
                writer.write(chunk)
                await writer.drain()
        finally:
            writer.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(self._host, self._port)
        await asyncio.gather(
            self._pipe(reader, upstream_writer, watch=True),
            self._pipe(upstream_reader, writer, watch=False),
            return_exceptions=True,
        )
        writer.close()

    @asynccontextmanager
    async def listening(self, port: int) -> AsyncIterator[None]:
        server = await asyncio.start_server(self.handle, "127.0.0.1", port)
        try:
            yield
        finally:
            server.close()


async def test_a_redis_that_comes_up_late_is_connected_to(redis_url: str) -> None:
    port = free_port()
    forwarder = Forwarder(redis_url)
    client = Redis.from_url(f"redis://127.0.0.1:{port}/0", **connection_options())

    async def start_late() -> None:
        await asyncio.sleep(0.2)  # the first attempts are refused: nothing listens yet
        async with forwarder.listening(port):
            await asyncio.sleep(5)

    starter = asyncio.create_task(start_late())
    try:
        assert await client.ping() is True
    finally:
        await client.aclose()
        starter.cancel()


async def test_a_command_lost_with_its_connection_is_not_sent_again(redis_url: str) -> None:
    port = free_port()
    forwarder = Forwarder(redis_url, drop_on=b"INCR")
    client = Redis.from_url(f"redis://127.0.0.1:{port}/0", **connection_options())
    async with forwarder.listening(port):
        try:
            with pytest.raises(RedisConnectionError):
                await client.incr("redisconn:counter")
        finally:
            await client.aclose()
    assert sum(chunk.count(b"INCR") for chunk in forwarder.seen) == 1
