"""/api/v1/me: age confirmation, deposit limits and self-exclusion."""

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.kit.resources import Resources
from app.protection import schemas
from app.protection.service import protection_service


class ProtectionController(Controller):
    path = "/api/v1/me"
    tags = ["me"]

    @get("/limits")
    async def limits(
        self,
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.Limits:
        """Age confirmation, deposit limits (with what is used and what is pending) and any
        active self-exclusion."""
        return await protection_service.limits(session, resources.settings, principal.user_id)

    @post("/age-confirmation", status_code=HTTP_200_OK)
    async def confirm_age(
        self,
        data: JSONBody[schemas.AgeConfirmation],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.Limits:
        """State your date of birth (once). Cash play needs an adult age; an under-age date
        is refused (403 ``underage``) and not kept, so a mistyped one can be corrected."""
        return await protection_service.confirm_age(
            session, resources.settings, principal.user_id, data.birth_date
        )

    @put("/limits/deposit")
    async def set_deposit_limit(
        self,
        data: JSONBody[schemas.DepositLimitChange],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.Limits:
        """Set a daily, weekly or monthly deposit cap. Lowering applies at once; raising or
        removing applies after a 24-hour cooling-off."""
        return await protection_service.set_deposit_limit(
            session, resources.settings, principal.user_id, data
        )

    @post("/self-exclusion", status_code=HTTP_200_OK)
    async def self_exclude(
        self,
        data: JSONBody[schemas.SelfExclusionRequest],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.Limits:
        """Stop all cash deposits and cash bets for some days, or permanently. It cannot be
        lifted early."""
        return await protection_service.self_exclude(
            session, resources.settings, principal.user_id, data
        )
