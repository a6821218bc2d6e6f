"""/webhooks/twitch and /webhooks/kick: the platforms' deliveries, verified and stored once;
Twitch's challenges answered."""

from collections.abc import Mapping
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED
from sqlalchemy.ext.asyncio import AsyncSession

from app.inbox.endpoints import Verifier, receive_webhook
from app.inbox.schemas import VerifiedEvent, WebhookChallenge, WebhookReceived
from app.kit.errors import NotFound
from app.kit.openapi import error_responses
from app.kit.resources import Resources
from app.stream.errors import (
    ForgedDelivery,
    KickKeyUnavailable,
    KickNotConfigured,
    MalformedDelivery,
    TwitchNotConfigured,
    YouTubeNotConfigured,
)
from app.stream.kick import KickKeys
from app.stream.listener import inbox_event
from app.stream.youtube import youtube_service
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


class YouTubeWebSubController(Controller):
    """YouTube's WebSub hub: it verifies our subscriptions (GET, answered with the raw
    ``hub.challenge``) and pushes a channel's feed (POST, Atom signed with ``X-Hub-Signature``).
    A push is only a hint to look at the channel's broadcasts sooner; one whose signature does
    not match is answered 2xx too (as WebSub asks) and ignored."""

    path = "/webhooks/youtube/websub"
    tags = ["webhooks"]

    @get("/{youtube_channel:str}", responses=error_responses(404, 503), media_type=MediaType.TEXT)
    async def websub_verify(
        self,
        request: Request[Any, Any, Any],
        youtube_channel: FromPath[str],
        resources: NamedDependency[Resources],
    ) -> Response[str]:
        """The hub checks a subscription: its `hub.challenge`, raw, when the topic is a linked
        channel's feed; 404 otherwise."""
        if not resources.settings.youtube_enabled:
            raise YouTubeNotConfigured()
        query = request.query_params
        challenge = query.get("hub.challenge")
        mode = query.get("hub.mode")
        try:
            lease = int(query.get("hub.lease_seconds") or 0) or None
        except ValueError:
            lease = None
        if not challenge or mode not in ("subscribe", "unsubscribe"):
            raise NotFound()
        if mode == "subscribe" and not await youtube_service.websub_verified(
            resources, youtube_channel, query.get("hub.topic") or "", lease
        ):
            raise NotFound()
        return Response(challenge, media_type=MediaType.TEXT, status_code=HTTP_200_OK)

    @post("/{youtube_channel:str}", status_code=HTTP_202_ACCEPTED, responses=error_responses(503))
    async def websub_notify(
        self,
        request: Request[Any, Any, Any],
        youtube_channel: FromPath[str],
        resources: NamedDependency[Resources],
    ) -> None:
        """A feed notification: 202 whatever it holds; signed with the subscription's secret,
        it makes the channel's live check run now."""
        if not resources.settings.youtube_enabled:
            raise YouTubeNotConfigured()
        body = await request.body()
        await youtube_service.websub_notified(
            resources, youtube_channel, body, request.headers.get("X-Hub-Signature")
        )
