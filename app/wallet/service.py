"""A user's wallets: balances per currency and their entries, newest first."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.currency import PATTERN
from app.kit.errors import InvalidInput, NotFound
from app.ledger.repository import ledger_repository
from app.models.ledger import AccountKind
from app.wallet import schemas

CURRENCY_PATTERN = PATTERN


class WalletNotFound(NotFound):
    code = "wallet_not_found"
    message = "You have no wallet in this currency yet."


class WalletService:
    async def list(self, session: AsyncSession, user_id: int) -> schemas.WalletList:
        rows = await ledger_repository.user_wallets(session, user_id)
        return schemas.WalletList(
            wallets=[
                schemas.Wallet(currency=currency, balance=balance, frozen=frozen)
                for currency, balance, frozen in rows
            ]
        )

    async def entries(
        self, session: AsyncSession, user_id: int, currency: str, cursor: str | None, limit: int
    ) -> schemas.WalletEntryPage:
        """One page of history. The cursor is opaque to clients (an entry id here)."""
        before_id = _parse_cursor(cursor)
        account_id = await ledger_repository.find_account(
            session, AccountKind.user_wallet, currency, user_id=user_id
        )
        if account_id is None:
            raise WalletNotFound()
        rows = await ledger_repository.entries(session, account_id, before_id, limit + 1)
        page, more = rows[:limit], len(rows) > limit
        balance = await ledger_repository.balance(session, account_id)
        if page:
            # The balance right after the page's newest entry, then walk back through it.
            balance -= await ledger_repository.sum_since(session, account_id, page[0].id + 1)
        entries = []
        for row in page:
            entries.append(
                schemas.WalletEntry(
                    id=row.id,
                    transaction_id=row.transaction_id,
                    amount=row.amount,
                    balance_after=balance,
                    reason=row.kind,
                    memo=row.memo,
                    created_at=row.created_at,
                )
            )
            balance -= row.amount
        return schemas.WalletEntryPage(
            currency=currency,
            entries=entries,
            next_cursor=str(page[-1].id) if more and page else None,
        )


def _parse_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not (cursor.isascii() and cursor.isdigit()) or int(cursor) >= 2**63:
        raise InvalidInput("cursor", "is not a cursor this API returned")
    return int(cursor)


wallet_service = WalletService()
