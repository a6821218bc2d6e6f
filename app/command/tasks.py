"""Jobs of chat commands: sending the bot's replies, scheduling those a lost job left, and
telling chats their pools opened, locked and how they ended."""

from app.command.replies import reply_outbox
from app.command.service import command_service
from app.kit.uow import unit_of_work
from app.kit.worker import JobContext, resources_of


async def send_replies(ctx: JobContext, platform: str, broadcaster_id: str, run: int) -> int:
    """Flush one platform chat's reply outbox (one job per coalescing window)."""
    return await reply_outbox.send(resources_of(ctx), platform, broadcaster_id, run)


async def sweep_replies(ctx: JobContext) -> int:
    """Schedule a flush for every chat whose outbox still holds replies."""
    return await reply_outbox.sweep(resources_of(ctx))


async def announce_pool(ctx: JobContext, pool_id: int, event: str) -> int:
    """Tell the chats linked to a pool's channel that it opened or locked."""
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await command_service.announce_pool(session, resources, pool_id, event)


async def announce_result(ctx: JobContext, pool_id: int) -> int:
    """Tell the chats linked to a paid pool's channel who won."""
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await command_service.announce_result(session, resources, pool_id)
