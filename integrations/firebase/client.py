"""Pushes through firebase-admin's async FCM path (HTTP v1), at most 500 messages a call, each
answer sorted into what the caller must do: keep, drop the token, retry or give up.

firebase-admin builds and checks each message, sends them side by side (``send_each_async``)
and reads FCM's answers into its error types; the HTTP requests themselves go through
:class:`FcmHttp` on aiohttp instead of the library's httpx client. On this project's 2-core
machine httpx spent 0.85 ms of CPU per request one at a time and about 3 ms with hundreds in
flight (its connection pool looks at every connection for every request), against about 0.25 ms
per message, firebase-admin included, this way: the push rate was the client's CPU, not FCM."""

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

import aiohttp
import firebase_admin
import google.auth.credentials
import httpx
import msgspec
from firebase_admin import _http_client, credentials, exceptions, messaging
from google.auth.transport import requests as google_requests

log = logging.getLogger(__name__)

#: FCM takes at most this many messages per send_each call.
MAX_BATCH: Final = 500
DEFAULT_ENDPOINT: Final = "https://fcm.googleapis.com"
#: The path firebase-admin posts each message to (HTTP v1), under an endpoint.
SEND_PATH: Final = "/v1/projects/{0}/messages:send"

#: HTTP/1.1 connections to FCM each process keeps at most: the sends in flight at once.
MAX_CONNECTIONS: Final = 100
#: FCM answers the client sends again at once, as firebase-admin's own transport does (its
#: DEFAULT_HTTPX_RETRY_CONFIG): 500 and 503, up to 4 more times, after 0, 1, 2 and 4 s.
RETRY_STATUSES: Final = frozenset({500, 503})
MAX_RETRIES: Final = 4
BACKOFF_FACTOR: Final = 0.5
#: An answer of 401: the access token is refreshed and the request sent again, twice at most
#: (as firebase-admin's auth flow).
MAX_REFRESHES: Final = 2

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
        # The library's send path calls ``request()`` on this attribute (its httpx client).
        self._httpx_client = self._service._async_client
        self._http = FcmHttp(self._service._credential, timeout=timeout)
        self._service._async_client = self._http

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
        await self._http.aclose()
        await self._httpx_client.aclose()  # never used, but made by the library
        # The library closes its HTTP client with asyncio.run(), not from a running loop: in
        # a thread, where FcmHttp.aclose() finds nothing left to close.
        await asyncio.to_thread(firebase_admin.delete_app, self._app)


class _Answer:
    """A successful answer as firebase-admin's send path reads it: its JSON body."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes) -> None:
        self._body = body

    def json(self) -> Any:
        return json.loads(self._body)


_encode = msgspec.json.Encoder().encode


class FcmHttp:
    """firebase-admin's async HTTP client for FCM (``request()``, ``aclose()``), on aiohttp:
    one keep-alive pool of at most ``MAX_CONNECTIONS`` per process, shared by every send. It
    keeps what the library's own client does: the service account's access token on each
    request (refreshed when it expires, once for all the requests waiting on it, off the event
    loop), a refresh and a resend on 401, 500 and 503 sent again with backoff, and errors as
    httpx's, which the library reads into its FCM error types: an answer with an error status is
    an ``HTTPStatusError``; no connection is a ``ConnectError`` (nothing was sent: retried
    later); no answer in time is a ``ReadTimeout`` and a connection that broke mid-request a
    ``RemoteProtocolError`` (it may have been delivered: never sent again)."""

    def __init__(
        self,
        credential: google.auth.credentials.Credentials,
        *,
        timeout: float,
        connections: int = MAX_CONNECTIONS,
    ) -> None:
        self._credential = credential
        self._connections = connections
        # No limit on the wait for a free connection (the sends in flight are bounded by the
        # pool): a request that never left is not a timeout.
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        self._headers = dict(_http_client.METRICS_HEADERS)
        self._session: aiohttp.ClientSession | None = None
        self._refreshing: asyncio.Lock | None = None

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        **_options: Any,
    ) -> _Answer:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                timeout=self._timeout,
                skip_auto_headers=("User-Agent",),
            )
        session = self._session
        data = _encode(json)
        base = {**self._headers, **(headers or {}), "Content-Type": "application/json"}
        refreshes = retries = 0
        while True:
            sent_with = await self._authorize(base)
            try:
                async with session.request(method, url, data=data, headers=base) as response:
                    body = await response.read()
                    status, answer_headers = response.status, response.headers
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
                raise httpx.ConnectError(str(error) or type(error).__name__) from error
            except (aiohttp.ServerTimeoutError, TimeoutError) as error:
                raise httpx.ReadTimeout(str(error) or type(error).__name__) from error
            except aiohttp.ClientError as error:
                raise httpx.RemoteProtocolError(str(error) or type(error).__name__) from error
            if status < 400:
                return _Answer(body)
            if status == 401 and refreshes < MAX_REFRESHES:
                refreshes += 1
                await self._refresh(sent_with)
                continue
            if status in RETRY_STATUSES and retries < MAX_RETRIES:
                retries += 1
                await asyncio.sleep(0 if retries == 1 else BACKOFF_FACTOR * 2 ** (retries - 1))
                continue
            request = httpx.Request(method, url)
            raise httpx.HTTPStatusError(
                f"FCM answered {status}",
                request=request,
                response=httpx.Response(
                    status, headers=list(answer_headers.items()), content=body, request=request
                ),
            )

    async def _authorize(self, headers: dict[str, str]) -> str | None:
        """The credential's current access token in ``headers`` (refreshed first if it is
        missing or expired); the token used."""
        if not self._credential.valid:
            await self._refresh(self._credential.token)
        self._credential.apply(headers)  # type: ignore[no-untyped-call]
        token: str | None = self._credential.token
        return token

    async def _refresh(self, stale: str | None) -> None:
        """A new access token, unless another request got one since ``stale`` was used."""
        if self._refreshing is None:
            self._refreshing = asyncio.Lock()
        async with self._refreshing:
            if self._credential.token == stale or not self._credential.valid:
                # google-auth refreshes with a blocking HTTP request: off the event loop.
                await asyncio.to_thread(self._credential.refresh, google_requests.Request())

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


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
