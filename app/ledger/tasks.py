"""Jobs of the ledger."""

import logging

from app.kit.uow import read_session
from app.kit.worker import JobContext, resources_of
from app.ledger.service import ledger_service

log = logging.getLogger(__name__)


async def check_ledger(ctx: JobContext) -> int:
    """Verify every ledger invariant (daily cron); logs each violation as an error."""
    async with read_session(resources_of(ctx)) as session:
        violations = await ledger_service.check(session)
    if violations:
        for violation in violations:
            log.error("ledger invariant violated", extra={"violation": violation})
    else:
        log.info("ledger check passed")
    return len(violations)
