"""Jobs of chat commands: sending the bot's replies, and scheduling those a lost job left."""

from app.command.replies import reply_outbox
from app.kit.worker import JobContext, resources_of


async def send_replies(ctx: JobContext, platform: str, broadcaster_id: str, run: int) -> int:
    """Flush one platform chat's reply outbox (one job per coalescing window)."""
    return await reply_outbox.send(resources_of(ctx), platform, broadcaster_id, run)


async def sweep_replies(ctx: JobContext) -> int:
    """Schedule a flush for every chat whose outbox still holds replies."""
    return await reply_outbox.sweep(resources_of(ctx))
