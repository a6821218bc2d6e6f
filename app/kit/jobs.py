"""arq plumbing shared by the web process (enqueue) and the worker (run): JSON, never pickle."""

from typing import Any

import msgspec
from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import ConnectionPool

from app.kit.redisconn import CONNECT_TIMEOUT_S, connect_retry, connection_options

_encoder = msgspec.json.Encoder(enc_hook=repr)
_decoder = msgspec.json.Decoder()


def serialize(data: dict[str, Any]) -> bytes:
    return _encoder.encode(data)


def deserialize(raw: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = _decoder.decode(raw)
    return decoded


def redis_settings(url: str) -> RedisSettings:
    """arq's settings for ``url``: the worker connects as every other client does."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = int(CONNECT_TIMEOUT_S)
    settings.retry = connect_retry()
    return settings


def create_job_pool(url: str) -> ArqRedis:
    """A queue client that connects on first use, so a process starts even while Redis is down
    (and ``/readyz`` says so)."""
    return ArqRedis(
        ConnectionPool.from_url(url, **connection_options()),
        job_serializer=serialize,
        job_deserializer=deserialize,
    )
