"""/api/v1/me/wallets: the caller's balances and history."""

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.wallet import schemas
from app.wallet.service import CURRENCY_PATTERN, wallet_service


class WalletController(Controller):
    path = "/api/v1/me/wallets"
    tags = ["me"]

    @get("")
    async def list_wallets(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> schemas.WalletList:
        """Balances per currency (`cash:USD`, `points:<channel id>`), in minor units."""
        return await wallet_service.list(session, principal.user_id)

    @get("/{currency:str}/entries")
    async def list_entries(
        self,
        currency: Annotated[str, Parameter(pattern=CURRENCY_PATTERN, max_length=64)],
        read_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        cursor: Annotated[str | None, Parameter(max_length=32)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> schemas.WalletEntryPage:
        """The wallet's entries, newest first, each with its reason and the balance after it.
        Pass ``next_cursor`` back as ``cursor`` for the next page."""
        return await wallet_service.entries(
            read_session, principal.user_id, currency, cursor, limit
        )
