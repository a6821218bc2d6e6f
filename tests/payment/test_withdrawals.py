"""Withdrawals: held at once, approved or rejected by an admin exactly once."""

import asyncio

import httpx

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.service import ledger_service
from app.models.ledger import AccountKind
from app.settings import Settings
from tests.factories import fund_wallet
from tests.payment.conftest import admin_headers, adult

Client = httpx.AsyncClient


async def _funded(client: Client, resources: Resources, amount: int) -> dict[str, str]:
    user_id, auth = await adult(client)
    async with unit_of_work(resources) as session:
        await fund_wallet(session, user_id, amount)
    return auth


async def _withdraw(client: Client, auth: dict[str, str], amount: int, key: str) -> httpx.Response:
    return await client.post(
        "/api/v1/payments/withdrawals",
        json={"amount": amount, "currency": "cash:USD"},
        headers={**auth, "Idempotency-Key": key},
    )


async def _balance(client: Client, auth: dict[str, str]) -> int:
    wallets = (await client.get("/api/v1/me/wallets", headers=auth)).json()["wallets"]
    return int(wallets[0]["balance"])


async def test_a_withdrawal_holds_the_money_and_retries_do_not_hold_twice(
    client: Client, resources: Resources
) -> None:
    auth = await _funded(client, resources, 1_000)
    first = await _withdraw(client, auth, 400, "w-1")
    again = await _withdraw(client, auth, 400, "w-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert await _balance(client, auth) == 600
    conflicting = await _withdraw(client, auth, 500, "w-1")
    assert conflicting.status_code == 409
    assert conflicting.json()["error"]["code"] == "idempotency_key_reused"


async def test_concurrent_retries_of_one_withdrawal_hold_once(
    client: Client, resources: Resources
) -> None:
    auth = await _funded(client, resources, 1_000)
    responses = await asyncio.gather(*(_withdraw(client, auth, 300, "same") for _ in range(10)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _balance(client, auth) == 700


async def test_withdrawals_need_a_key_and_funds(client: Client, resources: Resources) -> None:
    auth = await _funded(client, resources, 100)
    no_key = await client.post(
        "/api/v1/payments/withdrawals", json={"amount": 100, "currency": "cash:USD"}, headers=auth
    )
    assert no_key.status_code == 400
    assert no_key.json()["error"]["code"] == "idempotency_key_required"
    too_much = await _withdraw(client, auth, 101, "w")
    assert too_much.status_code == 409
    assert too_much.json()["error"]["code"] == "insufficient_funds"
    assert await _balance(client, auth) == 100


async def test_approve_pays_out_once_and_reject_refunds_once(
    client: Client, resources: Resources, settings: Settings
) -> None:
    auth = await _funded(client, resources, 1_000)
    admin = await admin_headers(client, resources, settings)
    paid = (await _withdraw(client, auth, 300, "a")).json()
    refused = (await _withdraw(client, auth, 200, "b")).json()

    approve = f"/api/v1/payments/withdrawals/{paid['id']}/approve"
    results = await asyncio.gather(
        *(
            client.post(approve, json={"payout_reference": "po_123"}, headers=admin)
            for _ in range(5)
        )
    )
    assert {r.status_code for r in results} == {200}
    assert results[0].json()["status"] == "approved"
    reject_paid = await client.post(
        f"/api/v1/payments/withdrawals/{paid['id']}/reject", json={"reason": "no"}, headers=admin
    )
    assert reject_paid.status_code == 409
    assert reject_paid.json()["error"]["code"] == "withdrawal_already_decided"

    reject = f"/api/v1/payments/withdrawals/{refused['id']}/reject"
    for _ in range(3):
        response = await client.post(reject, json={"reason": "unverified bank"}, headers=admin)
        assert response.status_code == 200
    assert await _balance(client, auth) == 1_000 - 300

    async with unit_of_work(resources) as session:
        held = await ledger_service.system_account(
            session, AccountKind.pending_withdrawals, "cash:USD"
        )
        payouts = await ledger_service.system_account(session, AccountKind.payouts, "cash:USD")
        assert await ledger_service.balance(session, held) == 0
        assert await ledger_service.balance(session, payouts) == 300
    entries = (await client.get("/api/v1/me/wallets/cash:USD/entries", headers=auth)).json()
    assert [e["reason"] for e in entries["entries"]] == [
        "withdrawal_rejected",
        "withdrawal",
        "withdrawal",
        "deposit",
    ]


async def test_only_admins_review_and_users_see_only_their_own(
    client: Client, resources: Resources, settings: Settings
) -> None:
    auth = await _funded(client, resources, 500)
    other = await _funded(client, resources, 500)
    withdrawal = (await _withdraw(client, auth, 100, "x")).json()
    forbidden = await client.post(
        f"/api/v1/payments/withdrawals/{withdrawal['id']}/approve",
        json={"payout_reference": "po"},
        headers=auth,
    )
    assert forbidden.status_code == 403
    assert (await client.get("/api/v1/payments/withdrawals", headers=other)).json() == {
        "withdrawals": []
    }
    admin = await admin_headers(client, resources, settings)
    listed = await client.get("/api/v1/payments/withdrawals?status=pending", headers=admin)
    assert [w["id"] for w in listed.json()["withdrawals"]] == [withdrawal["id"]]
    missing = await client.post(
        "/api/v1/payments/withdrawals/999999/approve",
        json={"payout_reference": "po"},
        headers=admin,
    )
    assert missing.status_code == 404
