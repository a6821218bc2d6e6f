"""No admin approves their own withdrawal: the service refuses it with a clear error, and the
database would refuse it too."""

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.service import ledger_service
from app.models.ledger import AccountKind
from app.models.user import Role
from app.settings import Settings
from tests.factories import DEFAULT_PASSWORD, bearer, create_user, fund_wallet
from tests.payment.conftest import admin_headers

Client = httpx.AsyncClient


async def _funded_admin(
    client: Client, resources: Resources, settings: Settings, amount: int
) -> tuple[int, dict[str, str]]:
    async with unit_of_work(resources) as session:
        admin = await create_user(session, settings, role=Role.admin)
        await fund_wallet(session, admin.id, amount)
    login = await client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": DEFAULT_PASSWORD}
    )
    return admin.id, bearer(login.json()["access_token"])


async def _withdraw(client: Client, auth: dict[str, str], amount: int, key: str) -> int:
    response = await client.post(
        "/api/v1/payments/withdrawals",
        json={"amount": amount, "currency": "cash:USD"},
        headers={**auth, "Idempotency-Key": key},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _balances(resources: Resources, user_id: int) -> tuple[int, int, int]:
    """The user's cash wallet, what is held for review, and what was paid out."""
    async with unit_of_work(resources) as session:
        wallet = await ledger_service.wallet(session, user_id, "cash:USD")
        held = await ledger_service.system_account(
            session, AccountKind.pending_withdrawals, "cash:USD"
        )
        paid = await ledger_service.system_account(session, AccountKind.payouts, "cash:USD")
        return (
            await ledger_service.balance(session, wallet),
            await ledger_service.balance(session, held),
            await ledger_service.balance(session, paid),
        )


async def test_an_admin_cannot_approve_their_own_withdrawal(
    client: Client, resources: Resources, settings: Settings
) -> None:
    admin_id, admin = await _funded_admin(client, resources, settings, 1_000)
    withdrawal_id = await _withdraw(client, admin, 400, "mine")
    url = f"/api/v1/payments/withdrawals/{withdrawal_id}"

    refused = await client.post(f"{url}/approve", json={"payout_reference": "po_1"}, headers=admin)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "self_approval"
    assert await _balances(resources, admin_id) == (600, 400, 0)
    mine = (await client.get("/api/v1/payments/withdrawals", headers=admin)).json()
    [pending] = [w for w in mine["withdrawals"] if w["id"] == withdrawal_id]
    assert pending["status"] == "pending"

    # Another admin reviews it as any other.
    other = await admin_headers(client, resources, settings)
    approved = await client.post(f"{url}/approve", json={"payout_reference": "po_1"}, headers=other)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert await _balances(resources, admin_id) == (600, 0, 400)

    # Rejecting one's own only gives the money back: allowed.
    second = await _withdraw(client, admin, 100, "second")
    rejected = await client.post(
        f"/api/v1/payments/withdrawals/{second}/reject",
        json={"reason": "changed my mind"},
        headers=admin,
    )
    assert rejected.status_code == 200, rejected.text
    assert await _balances(resources, admin_id) == (600, 0, 400)


async def test_the_database_refuses_a_self_approval_too(
    client: Client, resources: Resources, settings: Settings
) -> None:
    admin_id, admin = await _funded_admin(client, resources, settings, 500)
    withdrawal_id = await _withdraw(client, admin, 200, "w")
    with pytest.raises(IntegrityError, match="ck_withdrawals_not_self_approved"):
        async with unit_of_work(resources) as session:
            await session.execute(
                text(
                    "UPDATE withdrawals SET status = 'approved', decided_by = :a,"
                    " decided_at = now() WHERE id = :w"
                ),
                {"a": admin_id, "w": withdrawal_id},
            )
