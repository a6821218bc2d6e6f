"""/webhooks/twitch and /webhooks/kick: the platforms' deliveries, verified and stored once;
Twitch's challenges answered."""

from collections.abc import Mapping
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from litestar import Controller, MediaType, Request, Response, post
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from app.inbox.endpoints import Verifier, receive_webhook
from app.inbox.schemas import VerifiedEvent, WebhookChallenge, WebhookReceived
from app.kit.openapi import error_responses
from app.kit.resources import Resources
from app.stream.errors import (
    ForgedDelivery,
    KickKeyUnavailable,
    KickNotConfigured,
    MalformedDelivery,
    TwitchNotConfigured,
)
from app.stream.kick import KickKeys
from app.stream.listener import inbox_event
from integrations.kick import webhooks as kick_webhooks
from integrations.signed import InvalidSignature, MalformedMessage
from integrations.twitch import eventsub


def verify_twitch(
    body: bytes, headers: Mapping[str, str], secret: str
) -> VerifiedEvent | WebhookChallenge:
    """Twitch's HMAC over message id + timestamp + body, at most ten minutes old; then the
    message, stored with the headers that say which message it is."""
    try:
        eventsub.verify(secret, headers, body)
    except InvalidSignature as error:
        raise ForgedDelivery(error.reason) from error
    try:
        message = eventsub.parse(headers, body)
    except MalformedMessage as error:
        raise MalformedDelivery(str(error)) from error
    if message.message_type == "webhook_callback_verification":
        return WebhookChallenge(message.challenge or "")
    return inbox_event(message)


def kick_verifier(keys: list[RSAPublicKey]) -> Verifier:
    """Kick's RSA signature (by one of ``keys``) over message id, timestamp and body, at most
    ten minutes old; then the delivery, stored with the headers that say which event it is."""

    def verify_kick(body: bytes, headers: Mapping[str, str], _secret: str) -> VerifiedEvent:
        try:
            kick_webhooks.verify(keys, headers, body)
        except InvalidSignature as error:
            raise ForgedDelivery(error.reason) from error
        try:
            delivery = kick_webhooks.parse(headers, body)
        except MalformedMessage as error:
            raise MalformedDelivery(str(error)) from error
        return VerifiedEvent(
            external_id=delivery.message_id,
            event_type=delivery.event_type,
            payload=msgspec.to_builtins(delivery),
        )

    return verify_kick


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

    @post("/kick", status_code=HTTP_200_OK, responses=error_responses(400, 403, 503))
    async def kick_webhook(
        self,
        request: Request[Any, Any, Any],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> WebhookReceived:
        """Verify Kick's signature (RSA, Kick's public key), store the event once by its
        `Kick-Event-Message-Id` (a resend is answered 2xx too); a job handles what was stored.
        403 `invalid_signature`, and nothing stored, for a forged or stale delivery."""
        settings = resources.settings
        if not settings.kick_enabled:
            raise KickNotConfigured()
        keys = KickKeys(settings, resources.redis)
        known = await keys.known()
        if not known:
            raise KickKeyUnavailable()
        try:
            answer = await self._receive_kick(request, session, settings.kick_client_id, known)
        except ForgedDelivery as refused:
            # Perhaps Kick rotated its key: fetch it (rarely), and check once more.
            fresh = await keys.fetch_again() if refused.reason == "signature mismatch" else []
            if not fresh or {key.public_numbers() for key in fresh} <= {
                key.public_numbers() for key in known
            }:
                raise
            answer = await self._receive_kick(request, session, settings.kick_client_id, fresh)
        return answer

    async def _receive_kick(
        self,
        request: Request[Any, Any, Any],
        session: AsyncSession,
        client_id: str,
        keys: list[RSAPublicKey],
    ) -> WebhookReceived:
        answer = await receive_webhook(
            request,
            session,
            source="kick",
            # Kick signs with its own key pair: the app's client id is what turns this on.
            secret=client_id,
            verify=kick_verifier(keys),
            not_configured=KickNotConfigured,
        )
        assert isinstance(answer, WebhookReceived)  # Kick sends no challenge
        return answer
