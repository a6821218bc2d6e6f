"""Stream platform events, once stored in the inbox: each delivery becomes one PlatformEvent
(the adapter's work), which goes to the channel it belongs to: its chat, its chat commands
and its automations."""

import logging
from collections.abc import Iterable

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.automation.repository import automation_repository
from app.automation.service import automation_service
from app.channel.service import channel_service
from app.chat.service import chat_service
from app.command.service import command_service
from app.kit.resources import Resources
from app.models.channel import Platform
from app.models.inbox import InboxEvent
from app.stream.repository import stream_repository
from app.stream.subscriptions import twitch_subscription_service
from integrations.events import PlatformEvent
from integrations.kick import webhooks as kick_webhooks
from integrations.twitch import eventsub

log = logging.getLogger(__name__)


class StreamService:
    async def handle_twitch(
        self, session: AsyncSession, resources: Resources, stored: InboxEvent
    ) -> None:
        """An EventSub delivery, as the webhook (or the WebSocket transport) stored it."""
        message = msgspec.convert(stored.payload, eventsub.EventSubMessage)
        if message.message_type == "revocation":
            log.warning(
                "Twitch revoked an EventSub subscription",
                extra={
                    "subscription_id": message.subscription.id,
                    "type": message.subscription.type,
                    "status": message.subscription.status,
                },
            )
            await twitch_subscription_service.act_on_revocation(session, message.subscription)
            return
        event = eventsub.to_platform_event(message, received_at=stored.received_at)
        if event is not None:
            await self.dispatch(session, resources, event)

    async def handle_kick(
        self, session: AsyncSession, resources: Resources, stored: InboxEvent
    ) -> None:
        """A Kick webhook delivery, as /webhooks/kick stored it."""
        delivery = msgspec.convert(stored.payload, kick_webhooks.KickDelivery)
        event = kick_webhooks.to_platform_event(delivery, received_at=stored.received_at)
        if event is not None:
            await self.dispatch(session, resources, event)

    async def handle_youtube(
        self, session: AsyncSession, resources: Resources, stored: InboxEvent
    ) -> None:
        """A YouTube chat message or stream change, as the chat poller or the live check
        stored it (already a PlatformEvent: YouTube has no delivery of its own)."""
        event = msgspec.convert(stored.payload, PlatformEvent)
        await self.dispatch(session, resources, event)

    async def kick_streams_known(
        self, session: AsyncSession, broadcasters: Iterable[str]
    ) -> dict[str, bool]:
        """Whether each Kick broadcaster's linked channel is known online (its stream state)."""
        known: dict[str, bool] = {}
        wanted = set(broadcasters)
        for link in await stream_repository.links(session, Platform.kick):
            if link.broadcaster_id in wanted:
                stream = await automation_repository.stream(session, link.channel_id)
                known[link.broadcaster_id] = stream is not None and stream.online
        return known

    async def dispatch(
        self, session: AsyncSession, resources: Resources, event: PlatformEvent
    ) -> None:
        """One platform event to the channel its platform channel is verifiably linked to
        (none: ignored): chat to the channel's chat, the rest to its automations."""
        if event.kind != "chat.message":
            await automation_service.handle(session, resources, event)
            return
        channel = await channel_service.verified_channel(
            session, Platform(event.platform), event.channel_id
        )
        if channel is None:
            log.info(
                "chat of an unlinked platform channel",
                extra={"platform": event.platform, "platform_channel": event.channel_id},
            )
            return
        await chat_service.relay(session, resources, channel.id, event)
        await command_service.handle(session, resources, channel, event)


stream_service = StreamService()
