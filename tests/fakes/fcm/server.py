"""The fake FCM as an aiohttp server: ``POST /v1/projects/{project}/messages:send`` as FCM HTTP
v1 answers it (a message name, or Google's JSON error with an ``FcmError`` detail), an OAuth
token endpoint for service-account credentials, every message recorded, and failures on
demand: dead tokens, quota (429), 5xx, and requests held until released."""

import asyncio
import itertools
import json
import secrets
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import google.auth.credentials
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from firebase_admin import credentials

FCM_ERROR_TYPE: Final = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

#: FCM's error codes, with the HTTP status and Google status FCM answers them with.
ERRORS: Final[dict[str, tuple[int, str, str]]] = {
    "UNREGISTERED": (404, "NOT_FOUND", "Requested entity was not found."),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SenderId mismatch"),
    "INVALID_ARGUMENT": (
        400,
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
    ),
    "QUOTA_EXCEEDED": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric."),
    "UNAVAILABLE": (503, "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": (500, "INTERNAL", "Internal error encountered."),
    # Google's front end in front of FCM, not FCM itself: no FcmError detail.
    "BAD_GATEWAY": (502, "UNAVAILABLE", "Bad Gateway"),
    "THIRD_PARTY_AUTH_ERROR": (401, "UNAUTHENTICATED", "Auth error from APNS or Web Push."),
}


class _FixedToken(google.auth.credentials.Credentials):
    """A Google credential whose token never expires; a "refresh" (firebase-admin tries one
    when FCM answers 401) keeps it."""

    def __init__(self, token: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.token = token

    def refresh(self, request: object) -> None:
        return None


class StaticCredential(credentials.Base):  # type: ignore[misc]  # firebase-admin is untyped
    """A firebase-admin credential with a fixed access token: the library's real send path
    runs, and nothing ever calls Google."""

    def __init__(self, token: str = "fake-fcm-access-token") -> None:
        self._credential = _FixedToken(token)

    def get_credential(self) -> google.auth.credentials.Credentials:
        return self._credential


@dataclass
class _Failure:
    code: str
    times: int | None  # None: every time


@dataclass
class FakeFcm:
    """Records each accepted message in ``messages`` (the ``message`` object FCM received)."""

    project: str = "streampools-test"
    messages: list[dict[str, Any]] = field(default_factory=list)
    #: Every send request, accepted or not: (token, HTTP status answered).
    requests: list[tuple[str, int]] = field(default_factory=list)
    url: str = ""
    _token_failures: dict[str, _Failure] = field(default_factory=dict)
    _next_failures: list[str] = field(default_factory=list)
    _answer_before_holding: int | None = None
    _holding: int = 0
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    _ids: "itertools.count[int]" = field(default_factory=lambda: itertools.count(1))

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/v1/projects/{project}/messages:send", self._send)
        app.router.add_post("/token", self._token)
        app.router.add_get("/_fake/messages", self._list)
        self._released.set()
        # A request whose client went away is still answered (and recorded): as FCM, which
        # delivers a message it received whether or not the sender heard back.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.url = f"http://{host}:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- what a test arranges and reads -------------------------------------------------------

    def fail_token(self, token: str, code: str, times: int | None = None) -> None:
        """Answer sends to ``token`` with FCM's error ``code`` (``UNREGISTERED``, ...), every
        time or the next ``times`` times."""
        assert code in ERRORS, code
        self._token_failures[token] = _Failure(code, times)

    def fail_next(self, code: str, count: int = 1) -> None:
        """Answer the next ``count`` sends, whatever their token, with ``code``."""
        assert code in ERRORS, code
        self._next_failures.extend([code] * count)

    def hold_after(self, answered: int) -> None:
        """Answer ``answered`` more sends, then hold every other one until :meth:`release`."""
        self._answer_before_holding = answered
        self._released.clear()

    def release(self) -> None:
        self._answer_before_holding = None
        self._released.set()

    def tokens(self) -> list[str]:
        return [message["token"] for message in self.messages]

    def per_token(self) -> Counter[str]:
        return Counter(self.tokens())

    @property
    def holding(self) -> int:
        """Sends that arrived while holding (answered or not yet)."""
        return self._holding

    async def held(self, count: int) -> None:
        """Wait (30 s at most) until ``count`` sends arrived past the hold."""
        async with asyncio.timeout(30):
            while self._holding < count:  # noqa: ASYNC110
                await asyncio.sleep(0.01)

    # --- handlers -----------------------------------------------------------------------------

    async def _send(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _error(401, "UNAUTHENTICATED", "Request is missing required authentication.")
        if request.match_info["project"] != self.project:
            return _error(404, "NOT_FOUND", "Requested entity was not found.")
        try:
            body = json.loads(await request.read())
            message = body["message"]
            token = message["token"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        if not isinstance(token, str) or not token:
            return _error(400, "INVALID_ARGUMENT", "Invalid registration token")
        if any(not isinstance(v, str) for v in message.get("data", {}).values()):
            return _error(400, "INVALID_ARGUMENT", "Invalid value at 'message.data'")
        if self._answer_before_holding is not None:
            if self._answer_before_holding > 0:
                self._answer_before_holding -= 1
            else:
                self._holding += 1
                await self._released.wait()
        code = self._failure_for(token)
        if code is not None:
            status, google_status, text = ERRORS[code]
            self.requests.append((token, status))
            return _error(status, google_status, text, fcm_code=code)
        if body.get("validate_only"):
            self.requests.append((token, 200))
            return web.json_response({"name": f"projects/{self.project}/messages/fake_dry_run"})
        self.messages.append(message)
        self.requests.append((token, 200))
        name = f"projects/{self.project}/messages/0:{next(self._ids)}%{secrets.token_hex(8)}"
        return web.json_response({"name": name})

    def _failure_for(self, token: str) -> str | None:
        if self._next_failures:
            return self._next_failures.pop(0)
        failure = self._token_failures.get(token)
        if failure is None:
            return None
        if failure.times is not None:
            failure.times -= 1
            if failure.times <= 0:
                del self._token_failures[token]
        return failure.code

    async def _token(self, request: web.Request) -> web.Response:
        """Google's OAuth token endpoint for a service account's signed JWT (not verified)."""
        form = await request.post()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        return web.json_response(
            {
                "access_token": f"fake-{secrets.token_hex(16)}",
                "expires_in": 3600,
                "token_type": "Bearer",
            }
        )

    async def _list(self, _request: web.Request) -> web.Response:
        return web.json_response({"messages": self.messages})


def _error(
    status: int, google_status: str, message: str, fcm_code: str | None = None
) -> web.Response:
    error: dict[str, Any] = {"code": status, "message": message, "status": google_status}
    if fcm_code is not None and fcm_code != "BAD_GATEWAY":
        error["details"] = [{"@type": FCM_ERROR_TYPE, "errorCode": fcm_code}]
    return web.json_response({"error": error}, status=status)


def service_account(fake_url: str, project: str, path: Path) -> Path:
    """Write a service account's JSON key whose token endpoint is the fake's (a fresh RSA key):
    the platform reads it as it reads a real one, and never reaches Google."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": f"firebase-adminsdk@{project}.iam.gserviceaccount.com",
        "client_id": "100000000000000000000",
        "token_uri": f"{fake_url}/token",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info, indent=2))
    path.chmod(0o600)
    return path
