"""Pushes through firebase-admin's async FCM path (HTTP v1, httpx), at most 500 messages a
call, each answer sorted into what the caller must do: keep, drop the token, retry or give up."""

import asyncio
import enum
import itertools
import json
import logging
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import firebase_admin
from firebase_admin import credentials, exceptions, messaging

log = logging.getLogger(__name__)

#: FCM takes at most this many messages per send_each call.
MAX_BATCH: Final = 500
DEFAULT_ENDPOINT: Final = "https://fcm.googleapis.com"
#: The path firebase-admin posts each message to (HTTP v1), under an endpoint.
SEND_PATH: Final = "/v1/projects/{0}/messages:send"

_app_numbers = itertools.count(1)
#: firebase-admin reads its endpoint from a class attribute when an app's messaging service is
#: made: the swap around that moment is serialised so each app keeps its own endpoint.
_endpoint_lock = threading.Lock()


class FcmConfigError(Exception):
    """The credentials cannot be read (not a service account JSON, no project id)."""


class Outcome(enum.StrEnum):
    sent = "sent"
    #: The token is dead (unregistered, another sender's, not a token): delete it.
    dead = "dead"
    #: FCM refused the message for now (quota, 5xx, unreachable): it was not sent; try again.
    retry = "retry"
    #: Refused for good (a malformed message, APNs or web-push credentials misconfigured).
    failed = "failed"
    #: No answer (a timeout): it may have been delivered; never sent again.
    unknown = "unknown"


@dataclass(frozen=True, slots=True)
class Push:
    token: str
    title: str
    body: str
    #: FCM data values are strings.
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PushResult:
    outcome: Outcome
    message_id: str | None = None
    error: str | None = None
    #: FCM said the project's quota is spent: the caller should back off before sending more.
    quota: bool = False


class FcmClient:
    """One firebase-admin app of our own (never the default app), sending to ``endpoint``."""

    def __init__(
        self,
        credential: credentials.Base,
        *,
        project_id: str | None = None,
        endpoint: str = DEFAULT_ENDPOINT,
        timeout: float = 10,
    ) -> None:
        options: dict[str, Any] = {"httpTimeout": timeout}
        if project_id:
            options["projectId"] = project_id
        self._app = firebase_admin.initialize_app(
            credential, options, name=f"streampools-{next(_app_numbers)}"
        )
        if not self._app.project_id:
            firebase_admin.delete_app(self._app)
            raise FcmConfigError("the Firebase credentials name no project id")
        self.project_id: str = self._app.project_id
        with _endpoint_lock:
            default = messaging._MessagingService.FCM_URL
            messaging._MessagingService.FCM_URL = endpoint.rstrip("/") + SEND_PATH
            try:
                self._service = messaging._get_messaging_service(self._app)
            finally:
                messaging._MessagingService.FCM_URL = default

    @classmethod
    def from_service_account(
        cls, source: str, *, endpoint: str = DEFAULT_ENDPOINT, timeout: float = 10
    ) -> "FcmClient":
        """From a service account's JSON key: the JSON itself, or the path of its file."""
        text = source.strip()
        try:
            info = json.loads(text) if text.startswith("{") else json.loads(Path(text).read_text())
            credential = credentials.Certificate(info)
        except (OSError, ValueError) as error:
            raise FcmConfigError(f"cannot read the service account JSON: {error}") from None
        return cls(credential, endpoint=endpoint, timeout=timeout)

    async def send(self, pushes: Sequence[Push]) -> list[PushResult]:
        """Send each push (at most 500) in one ``send_each_async`` call; one result per push, in
        order. Never raises for a refused message: its result says what to do."""
        if len(pushes) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} pushes per call")
        if not pushes:
            return []
        with warnings.catch_warnings():
            # 7.x marks Message.token deprecated in favour of Firebase installation ids; FCM
            # registration tokens are what apps hand us (the library's own multicast does this).
            warnings.simplefilter("ignore", DeprecationWarning)
            messages = [
                messaging.Message(
                    token=push.token,
                    notification=messaging.Notification(title=push.title, body=push.body),
                    data=dict(push.data),
                )
                for push in pushes
            ]
        try:
            batch = await messaging.send_each_async(messages, app=self._app)
        except exceptions.FirebaseError as error:  # the whole call failed (never expected)
            log.warning("FCM batch failed: %s", error)
            return [PushResult(Outcome.retry, error=_short(error))] * len(pushes)
        return [_result(response) for response in batch.responses]

    async def aclose(self) -> None:
        # The library closes its httpx client with asyncio.run(): not from a running loop.
        await self._service._async_client.aclose()
        await asyncio.to_thread(firebase_admin.delete_app, self._app)


def _result(response: Any) -> PushResult:
    if response.success:
        return PushResult(Outcome.sent, message_id=str(response.message_id))
    error = response.exception
    text = _short(error)
    if isinstance(error, (messaging.UnregisteredError, messaging.SenderIdMismatchError)):
        return PushResult(Outcome.dead, error=text)
    if isinstance(error, exceptions.InvalidArgumentError):
        if "registration token" in str(error).lower():
            return PushResult(Outcome.dead, error=text)
        return PushResult(Outcome.failed, error=text)
    if isinstance(error, messaging.QuotaExceededError):
        return PushResult(Outcome.retry, error=text, quota=True)
    if isinstance(error, messaging.ThirdPartyAuthError):
        log.error("FCM refused a push: APNs or web-push credentials are misconfigured: %s", text)
        return PushResult(Outcome.failed, error=text)
    if isinstance(error, exceptions.DeadlineExceededError):
        return PushResult(Outcome.unknown, error=text)
    status = getattr(getattr(error, "http_response", None), "status_code", None)
    if status == 429:
        return PushResult(Outcome.retry, error=text, quota=True)
    if (status is not None and status >= 500) or isinstance(error, exceptions.UnavailableError):
        return PushResult(Outcome.retry, error=text)
    if status is None and isinstance(error, exceptions.UnknownError):
        return PushResult(Outcome.unknown, error=text)  # the connection broke mid-request
    return PushResult(Outcome.failed, error=text)


def _short(error: object) -> str:
    return f"{type(error).__name__}: {error}"[:300]
