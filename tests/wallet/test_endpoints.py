"""/api/v1/me/wallets: balances and cursor-paginated history with reasons."""

import httpx

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.repository import Posting
from app.ledger.service import ledger_service
from app.models.ledger import AccountKind, TransactionKind
from tests.factories import bearer, fund_wallet, register

Client = httpx.AsyncClient


async def test_wallets_and_history_newest_first_with_running_balance(
    client: Client, resources: Resources
) -> None:
    session_body = await register(client)
    user_id = int(session_body["user"]["id"])  # type: ignore[index]
    auth = bearer(session_body["access_token"])
    async with unit_of_work(resources) as session:
        wallet = await fund_wallet(session, user_id, 1_000)
        house = await ledger_service.system_account(session, AccountKind.house, "cash:USD")
        for n in range(4):
            await ledger_service.post_transaction(
                session,
                idempotency_key=f"spend-{n}",
                kind=TransactionKind.bet,
                postings=[Posting(wallet, "cash:USD", -100), Posting(house, "cash:USD", 100)],
                memo={"n": n},
            )

    wallets = (await client.get("/api/v1/me/wallets", headers=auth)).json()
    assert wallets == {"wallets": [{"currency": "cash:USD", "balance": 600, "frozen": False}]}

    first = (await client.get("/api/v1/me/wallets/cash:USD/entries?limit=3", headers=auth)).json()
    assert [e["amount"] for e in first["entries"]] == [-100, -100, -100]
    assert [e["balance_after"] for e in first["entries"]] == [600, 700, 800]
    assert [e["reason"] for e in first["entries"]] == ["bet", "bet", "bet"]
    assert first["next_cursor"]

    second = (
        await client.get(
            f"/api/v1/me/wallets/cash:USD/entries?limit=3&cursor={first['next_cursor']}",
            headers=auth,
        )
    ).json()
    assert [(e["amount"], e["balance_after"], e["reason"]) for e in second["entries"]] == [
        (-100, 900, "bet"),
        (1_000, 1_000, "deposit"),
    ]
    assert second["next_cursor"] is None


async def test_history_of_a_currency_without_wallet_is_404(client: Client) -> None:
    auth = bearer((await register(client))["access_token"])
    response = await client.get("/api/v1/me/wallets/points:1/entries", headers=auth)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "wallet_not_found"


async def test_bad_currency_or_cursor_is_422(client: Client) -> None:
    auth = bearer((await register(client))["access_token"])
    bad_currency = await client.get("/api/v1/me/wallets/dollars/entries", headers=auth)
    assert bad_currency.status_code == 422
    for cursor in ("x'--", "\u00b2", "9999999999999999999"):
        bad_cursor = await client.get(
            "/api/v1/me/wallets/cash:USD/entries", params={"cursor": cursor}, headers=auth
        )
        assert bad_cursor.status_code == 422, cursor
        assert bad_cursor.json()["error"]["details"]["field"] == "cursor"


async def test_wallets_need_a_signed_in_user(client: Client) -> None:
    assert (await client.get("/api/v1/me/wallets")).status_code == 401
