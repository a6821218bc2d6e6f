"""Migration 0019 gives a channel live now on its one verified platform that platform's side of
the stream (so that platform's offline ends it), none to a channel live on several links, and
goes down and up again cleanly."""

import asyncio

import asyncpg
from alembic import command

from app.kit.migrate import alembic_config, upgrade
from tests.conftest import Servers

DATABASE = "platform_streams_migration"


async def _channel(connection: asyncpg.Connection, slug: str, platforms: list[str]) -> int:
    """A channel live now, verifiably linked to ``platforms``."""
    owner = await connection.fetchval(
        "INSERT INTO users (email, display_name) VALUES ($1, 'O') RETURNING id",
        f"{slug}@example.com",
    )
    channel = await connection.fetchval(
        "INSERT INTO channels (slug, name, owner_id) VALUES ($1, 'C', $2) RETURNING id",
        slug,
        owner,
    )
    for platform in platforms:
        account = await connection.fetchval(
            "INSERT INTO platform_accounts (platform, platform_user_id, login, display_name,"
            " user_id) VALUES ($1::platform, $2, 'o', 'O', $3) RETURNING id",
            platform,
            f"{slug}-{platform}",
            owner,
        )
        await connection.execute(
            "INSERT INTO channel_links (channel_id, platform, external_id, status,"
            " platform_account_id) VALUES ($1, $2::platform, $3, 'verified', $4)",
            channel,
            platform,
            f"{slug}-{platform}",
            account,
        )
    await connection.execute(
        "INSERT INTO channel_streams (channel_id, online, stream_id, started_at, event_at)"
        " VALUES ($1, true, 's-1', now(), now())",
        channel,
    )
    return int(channel)


async def test_0019_gives_a_live_single_platform_channel_its_side_and_goes_down_and_up(
    servers: Servers, admin_connection: asyncpg.Connection
) -> None:
    await admin_connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    await admin_connection.execute(f"CREATE DATABASE {DATABASE}")
    url = servers.postgres.url(DATABASE)
    try:
        await asyncio.to_thread(upgrade, url, "0018")
        connection = await asyncpg.connect(servers.postgres.dsn(DATABASE))
        try:
            single = await _channel(connection, "single", ["kick"])
            await _channel(connection, "multi", ["twitch", "youtube"])
            await asyncio.to_thread(upgrade, url, "0019")
            rows = await connection.fetch(
                "SELECT channel_id, platform::text, online, stream_id FROM channel_platform_streams"
            )
            assert [tuple(row) for row in rows] == [(single, "kick", True, "s-1")]
            await asyncio.to_thread(command.downgrade, alembic_config(url), "0018")
            assert not await connection.fetchval(
                "SELECT to_regclass('channel_platform_streams') IS NOT NULL"
            )
            await asyncio.to_thread(upgrade, url, "head")
            assert await connection.fetchval("SELECT count(*) FROM channel_platform_streams") == 1
        finally:
            await connection.close()
    finally:
        await admin_connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
