"""SQL of platform identities, their tokens, and the money of merged chat-only accounts."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.pg import constraint_name
from app.models.channel import ChannelLink, Platform
from app.models.platform import PlatformAccount, PlatformToken, TokenPurpose, TokenStatus
from app.models.user import User

IDENTITY_UNIQUE = "uq_platform_accounts_platform_platform_user_id"


@dataclass(frozen=True, slots=True)
class WalletToSweep:
    account_id: int
    currency: str
    balance: int
    #: The wallet's newest entry: with it, the sweep's ledger key names one state of the wallet.
    last_entry_id: int


@dataclass(frozen=True, slots=True)
class DueToken:
    token: PlatformToken
    platform: Platform
    login: str
    user_id: int


class PlatformRepository:
    # -- identities ---------------------------------------------------------------------------

    async def account(
        self,
        session: AsyncSession,
        platform: Platform,
        platform_user_id: str,
        *,
        for_update: bool = False,
    ) -> PlatformAccount | None:
        query = select(PlatformAccount).where(
            PlatformAccount.platform == platform,
            PlatformAccount.platform_user_id == platform_user_id,
        )
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await session.execute(query)).scalar_one_or_none()

    async def account_by_id(self, session: AsyncSession, account_id: int) -> PlatformAccount | None:
        return await session.get(PlatformAccount, account_id)

    async def accounts_of(self, session: AsyncSession, user_id: int) -> list[PlatformAccount]:
        result = await session.execute(
            select(PlatformAccount)
            .where(PlatformAccount.user_id == user_id)
            .order_by(PlatformAccount.id)
        )
        return list(result.scalars())

    async def channel_links(
        self, session: AsyncSession, channel_id: int
    ) -> list[tuple[ChannelLink, PlatformAccount | None]]:
        """A channel's links, oldest first, each with the platform account that proved it
        (None for an unverified link)."""
        result = await session.execute(
            select(ChannelLink, PlatformAccount)
            .outerjoin(PlatformAccount, PlatformAccount.id == ChannelLink.platform_account_id)
            .where(ChannelLink.channel_id == channel_id)
            .order_by(ChannelLink.id)
        )
        return [(link, account) for link, account in result.all()]

    async def add_account_with_user(
        self, session: AsyncSession, user: User, account: PlatformAccount
    ) -> bool:
        """Insert a new user and its identity together; False (and neither inserted) when the
        identity exists, also when a concurrent insert of it just committed."""
        try:
            async with session.begin_nested():
                session.add(user)
                await session.flush()
                account.user_id = user.id
                session.add(account)
        except IntegrityError as error:
            if constraint_name(error) == IDENTITY_UNIQUE:
                return False
            raise
        return True

    async def add_account(self, session: AsyncSession, account: PlatformAccount) -> bool:
        try:
            async with session.begin_nested():
                session.add(account)
        except IntegrityError as error:
            if constraint_name(error) == IDENTITY_UNIQUE:
                return False
            raise
        return True

    async def repoint_accounts(self, session: AsyncSession, from_user: int, to_user: int) -> None:
        await session.execute(
            update(PlatformAccount)
            .where(PlatformAccount.user_id == from_user)
            .values(user_id=to_user, updated_at=text("now()"))
            .execution_options(synchronize_session="fetch")
        )

    # -- merged chat-only accounts ------------------------------------------------------------

    async def wallets_to_sweep(self, session: AsyncSession, user_id: int) -> list[WalletToSweep]:
        """The user's wallets holding money, locked until the unit of work ends."""
        result = await session.execute(
            text(
                "SELECT a.id, a.currency, a.balance,"
                "       (SELECT max(e.id) FROM ledger_entries e WHERE e.account_id = a.id)"
                "  FROM accounts a"
                " WHERE a.kind = 'user_wallet' AND a.user_id = :user AND a.balance > 0"
                " ORDER BY a.id FOR UPDATE OF a"
            ),
            {"user": user_id},
        )
        return [WalletToSweep(*row) for row in result]

    async def merged_with_money(self, session: AsyncSession, limit: int) -> list[tuple[int, int]]:
        """(merged user, the user it merged into) for merged accounts whose wallets received
        money after the merge (payouts and refunds of bets placed before it)."""
        result = await session.execute(
            text(
                "SELECT DISTINCT u.id, u.merged_into FROM users u"
                "  JOIN accounts a ON a.user_id = u.id AND a.kind = 'user_wallet'"
                " WHERE u.merged_into IS NOT NULL AND a.balance > 0"
                " ORDER BY u.id LIMIT :limit"
            ),
            {"limit": limit},
        )
        return [(int(merged), int(into)) for merged, into in result]

    # -- tokens -------------------------------------------------------------------------------

    async def store_tokens(
        self,
        session: AsyncSession,
        *,
        account_id: int,
        purpose: TokenPurpose,
        access_token: str,
        refresh_token: str,
        scopes: list[str],
        expires_at: datetime,
    ) -> PlatformToken:
        """Insert or replace the account's tokens for ``purpose`` (active again, next version)."""
        values = {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "scopes": scopes,
            "expires_at": expires_at,
            "status": TokenStatus.active,
            "last_error": None,
        }
        statement = insert(PlatformToken).values(
            platform_account_id=account_id, purpose=purpose, **values
        )
        result = await session.execute(
            statement.on_conflict_do_update(
                index_elements=["platform_account_id", "purpose"],
                set_={
                    **values,
                    "version": PlatformToken.version + 1,
                    "updated_at": text("now()"),
                },
            )
            .returning(PlatformToken)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one()

    async def token(
        self, session: AsyncSession, account_id: int, purpose: TokenPurpose
    ) -> PlatformToken | None:
        result = await session.execute(
            select(PlatformToken).where(
                PlatformToken.platform_account_id == account_id, PlatformToken.purpose == purpose
            )
        )
        return result.scalar_one_or_none()

    async def bot_account(
        self, session: AsyncSession, platform: Platform
    ) -> PlatformAccount | None:
        """The platform's chat bot: the account whose bot grant was stored last and is active."""
        result = await session.execute(
            select(PlatformAccount)
            .join(PlatformToken, PlatformToken.platform_account_id == PlatformAccount.id)
            .where(
                PlatformAccount.platform == platform,
                PlatformToken.purpose == TokenPurpose.bot,
                PlatformToken.status == TokenStatus.active,
            )
            .order_by(PlatformToken.updated_at.desc(), PlatformToken.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def claim_due(
        self,
        session: AsyncSession,
        lead_seconds: int,
        limit: int,
        platforms: Collection[Platform],
        skip: Collection[int] = (),
    ) -> list[DueToken]:
        """Active tokens expiring within ``lead_seconds``, locked for this unit of work. SKIP
        LOCKED: tokens another process is refreshing are left to it, so each token is
        refreshed by one process at a time (a refresh token used twice may be refused)."""
        result = await session.execute(
            select(PlatformToken, PlatformAccount)
            .join(PlatformAccount, PlatformAccount.id == PlatformToken.platform_account_id)
            .where(
                PlatformToken.status == TokenStatus.active,
                PlatformToken.expires_at < text("now() + make_interval(secs => :lead)"),
                PlatformToken.id.not_in(skip),
                PlatformAccount.platform.in_(list(platforms)),
            )
            .order_by(PlatformToken.expires_at)
            .limit(limit)
            .with_for_update(of=PlatformToken, skip_locked=True)
            .execution_options(populate_existing=True)
            .params(lead=lead_seconds)
        )
        return [
            DueToken(token, account.platform, account.login, account.user_id)
            for token, account in result
        ]

    async def store_refreshed(
        self,
        session: AsyncSession,
        token_id: int,
        version: int,
        *,
        access_token: str,
        refresh_token: str,
        scopes: list[str],
        expires_at: datetime,
    ) -> bool:
        """Store a refresh's tokens if they are still the ones refreshed (same version)."""
        result = await session.execute(
            update(PlatformToken)
            .where(PlatformToken.id == token_id, PlatformToken.version == version)
            .values(
                access_token=access_token,
                refresh_token=refresh_token,
                scopes=scopes,
                expires_at=expires_at,
                version=PlatformToken.version + 1,
                last_error=None,
                updated_at=text("now()"),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def mark_failed(
        self,
        session: AsyncSession,
        token_id: int,
        version: int,
        error: str,
        *,
        needs_relink: bool,
    ) -> bool:
        values: dict[str, object] = {"last_error": error[:500], "updated_at": text("now()")}
        if needs_relink:
            values["status"] = TokenStatus.needs_relink
        result = await session.execute(
            update(PlatformToken)
            .where(PlatformToken.id == token_id, PlatformToken.version == version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def all_token_ids(self, session: AsyncSession) -> list[int]:
        return list(
            (await session.execute(select(PlatformToken.id).order_by(PlatformToken.id))).scalars()
        )

    async def lock_token(self, session: AsyncSession, token_id: int) -> PlatformToken | None:
        result = await session.execute(
            select(PlatformToken)
            .where(PlatformToken.id == token_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def now(self, session: AsyncSession) -> datetime:
        now: datetime = (await session.execute(text("SELECT now()"))).scalar_one()
        return now


platform_repository = PlatformRepository()
