"""Migration 0012 goes down and up again cleanly, keeping the links declared before it."""

import asyncio

import asyncpg
from alembic import command

from app.kit.migrate import alembic_config, upgrade
from tests.conftest import Servers

DATABASE = "platform_migration"


async def test_0012_downgrades_and_upgrades_keeping_declared_links(
    servers: Servers, admin_connection: asyncpg.Connection
) -> None:
    await admin_connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    await admin_connection.execute(f"CREATE DATABASE {DATABASE}")
    url = servers.postgres.url(DATABASE)
    try:
        await asyncio.to_thread(upgrade, url, "0011")
        connection = await asyncpg.connect(servers.postgres.dsn(DATABASE))
        try:
            owner = await connection.fetchval(
                "INSERT INTO users (email, display_name) VALUES ('o@example.com', 'O') RETURNING id"
            )
            channel = await connection.fetchval(
                "INSERT INTO channels (slug, name, owner_id) VALUES ('c-1', 'C', $1) RETURNING id",
                owner,
            )
            await connection.execute(
                "INSERT INTO channel_links (channel_id, platform, external_id)"
                " VALUES ($1, 'kick', 'k1')",
                channel,
            )
            await asyncio.to_thread(upgrade, url, "0012")
            assert await connection.fetchval("SELECT status::text FROM channel_links") == (
                "unverified"
            )
            await asyncio.to_thread(command.downgrade, alembic_config(url), "0011")
            assert await connection.fetchval("SELECT verified FROM channel_links") is False
            await asyncio.to_thread(upgrade, url, "head")
            assert await connection.fetchval("SELECT count(*) FROM channel_links") == 1
        finally:
            await connection.close()
    finally:
        await admin_connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
