"""/webhooks/twitch: EventSub deliveries, verified and stored once; challenges answered."""

from collections.abc import Mapping
from typing import Any

from litestar import Controller, MediaType, Request, Response, post
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from app.inbox.endpoints import receive_webhook
from app.inbox.schemas import VerifiedEvent, WebhookChallenge, WebhookReceived
from app.kit.openapi import error_responses
from app.kit.resources import Resources
from app.stream.errors import ForgedDelivery, MalformedDelivery, TwitchNotConfigured
from app.stream.listener import inbox_event
from integrations.twitch import eventsub


def verify_twitch(
    body: bytes, headers: Mapping[str, str], secret: str
) -> VerifiedEvent | WebhookChallenge:
    """Twitch's HMAC over message id + timestamp + body, at most ten minutes old; then the
    message, stored with the headers that say which message it is."""
    try:
        eventsub.verify(secret, headers, body)
    except eventsub.InvalidSignature as error:
        raise ForgedDelivery(error.reason) from error
    try:
        message = eventsub.parse(headers, body)
    except eventsub.MalformedMessage as error:
        raise MalformedDelivery(str(error)) from error
    if message.message_type == "webhook_callback_verification":
        return WebhookChallenge(message.challenge or "")
    return inbox_event(message)


class TwitchWebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]

    @post(
        "/twitch",
        status_code=HTTP_200_OK,
        responses=error_responses(400, 403, 503),
        # Twitch signs the raw body: nothing may parse or reject it before the check.
    )
    async def twitch_webhook(
        self,
        request: Request[Any, Any, Any],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> Response[WebhookReceived | str]:
        """Verify Twitch's signature, store a notification or revocation once (a resend is
        answered 2xx too), and answer a subscription's challenge with its raw text; a job
        handles what was stored."""
        answer = await receive_webhook(
            request,
            session,
            source="twitch",
            secret=resources.settings.twitch_eventsub_secret.get_secret_value(),
            verify=verify_twitch,
            not_configured=TwitchNotConfigured,
        )
        if isinstance(answer, WebhookChallenge):
            return Response(answer.text, media_type=MediaType.TEXT, status_code=HTTP_200_OK)
        return Response(answer, status_code=HTTP_200_OK)
