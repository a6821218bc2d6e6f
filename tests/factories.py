"""Plain typed factories for test data, with explicit defaults."""

import itertools
from collections.abc import Sequence
from typing import Literal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import passwords
from app.auth.tokens import Principal
from app.kit.resources import Resources
from app.models.channel import Channel
from app.models.platform import PlatformAccount
from app.models.user import Role, User
from app.pool import schemas as pool_schemas
from app.pool.lifecycle import pool_lifecycle
from app.settings import Settings
from app.user.repository import user_repository

DEFAULT_PASSWORD = "correct horse battery"
_numbers = itertools.count(1)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_numbers)}@example.com"


async def create_user(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    display_name: str = "Tester",
    role: Role = Role.user,
) -> User:
    return await user_repository.create(
        session,
        email=email or unique_email(),
        password_hash=await passwords(settings).hash(password),
        display_name=display_name,
        role=role,
    )


async def register(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    display_name: str = "Tester",
) -> dict[str, object]:
    """Register through the API; returns the session body (user, tokens)."""
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email or unique_email(), "password": password, "display_name": display_name},
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def fund_wallet(
    session: AsyncSession, user_id: int, amount: int, currency: str = "cash:USD"
) -> int:
    """Credit a user's wallet from Stripe clearing (as a deposit would); returns the wallet id."""
    from app.ledger.repository import Posting
    from app.ledger.service import ledger_service
    from app.models.ledger import AccountKind, TransactionKind

    wallet = await ledger_service.wallet(session, user_id, currency)
    source_kind = (
        AccountKind.stripe_clearing if currency.startswith("cash:") else AccountKind.points_issuer
    )
    ref_id = None if currency.startswith("cash:") else int(currency.split(":")[1])
    source = await ledger_service.system_account(session, source_kind, currency, ref_id)
    await ledger_service.post_transaction(
        session,
        idempotency_key=f"test-fund:{user_id}:{currency}:{next(_numbers)}",
        kind=TransactionKind.deposit,
        postings=[
            Posting(source, currency, -amount),
            Posting(wallet, currency, amount),
        ],
    )
    return wallet


async def create_channel(
    session: AsyncSession,
    owner_id: int,
    *,
    slug: str | None = None,
    cash_enabled: bool = False,
) -> Channel:

    channel = Channel(
        slug=slug or f"channel-{next(_numbers)}",
        name="Test channel",
        owner_id=owner_id,
        cash_enabled=cash_enabled,
    )
    session.add(channel)
    await session.flush()
    return channel


async def add_moderator(session: AsyncSession, channel_id: int, user_id: int, by: int) -> None:
    from app.models.channel import ChannelModerator

    session.add(ChannelModerator(channel_id=channel_id, user_id=user_id, added_by=by))
    await session.flush()


async def create_pool(
    session: AsyncSession,
    resources: Resources,
    channel: Channel,
    *,
    outcomes: Sequence[str] = ("Yes", "No"),
    title: str = "Test pool",
    currency: Literal["points", "cash"] = "points",
    min_stake: int = 1,
    max_stake: int = 1_000_000,
    rake_bps: int | None = None,
    window_seconds: int = 600,
    open: bool = True,
    actor: Principal | None = None,
) -> pool_schemas.Pool:
    """A pool of ``channel``, created through the service (open at once unless ``open`` is
    False); by automation acting for the channel unless an ``actor`` is given."""
    return await pool_lifecycle.create(
        session,
        resources,
        actor,
        pool_schemas.PoolCreate(
            channel_id=channel.id,
            title=title,
            outcomes=list(outcomes),
            currency=currency,
            min_stake=min_stake,
            max_stake=max_stake,
            rake_bps=rake_bps,
            window_seconds=window_seconds,
            open=open,
        ),
    )


async def create_platform_account(
    session: AsyncSession,
    user_id: int,
    *,
    platform: str = "twitch",
    platform_user_id: str | None = None,
    login: str | None = None,
) -> PlatformAccount:
    """A platform identity of ``user_id`` (as OAuth or chat would have recorded it)."""
    from app.models.channel import Platform

    number = next(_numbers)
    account = PlatformAccount(
        platform=Platform(platform),
        platform_user_id=platform_user_id or str(100_000 + number),
        login=login or f"streamer{number}",
        display_name=(login or f"Streamer{number}").title(),
        user_id=user_id,
    )
    session.add(account)
    await session.flush()
    return account
