"""The fake Stripe account as an ASGI app: the API, the hosted payment page, Stripe's side of
a payment (refunds, disputes, delayed methods), and signed deliveries of every event."""

import copy
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs, quote

import httpx

from tests.fakes.stripe.errors import ApiError
from tests.fakes.stripe.objects import (
    API_VERSION,
    JsonObject,
    charge_object,
    checkout_session_object,
    dispute_object,
    encode_event,
    event_envelope,
    new_id,
)
from tests.fakes.stripe.params import parse_form, validated_session_params
from tests.fakes.stripe.signing import webhook_headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEFAULT_PUBLIC_URL: Final = "http://stripe.fake"
MAX_IDEMPOTENCY_KEY_LENGTH: Final = 255


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver an event to the webhook endpoint."""

    event_id: str
    event_type: str
    status_code: int | None
    error: str | None = None


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    idempotency_key: str | None
    stripe_version: str | None


@dataclass
class _Response:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _StoredResult:
    """The first response to an idempotency key, replayed to later requests with that key."""

    method: str
    path: str
    params: JsonObject
    response: _Response


_SESSION_PATH = re.compile(r"^/v1/checkout/sessions/(?P<id>[^/]+)$")
_PAY_PATH = re.compile(r"^/pay/(?P<id>[^/]+)$")
_CONTROL_PATH = re.compile(r"^/_fake/sessions/(?P<id>[^/]+)/(?P<action>[a-z_]+)$")


class FakeStripe:
    """A fake Stripe account in test mode, as an ASGI app.

    API: ``POST /v1/checkout/sessions`` and ``GET /v1/checkout/sessions/{id}`` (Bearer
    ``sk_test_...`` key, form-encoded bodies, ``Idempotency-Key``). The customer's side:
    ``GET /pay/{id}`` (where a session's ``url`` points) pays and redirects to ``success_url``;
    ``?outcome=delayed`` completes with a delayed payment method, ``?outcome=cancel`` goes back to
    ``cancel_url``. Stripe's side: ``POST /_fake/sessions/{id}/{action}`` with ``action`` one of
    ``async_payment_succeeded``, ``async_payment_failed``, ``expire``, ``refund`` (``?amount=``),
    ``dispute`` — the same as the Python methods of the same names. Each change of state is
    delivered, signed, to the webhook endpoint when one is configured."""

    def __init__(
        self,
        *,
        public_url: str = DEFAULT_PUBLIC_URL,
        api_key: str | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        api_version: str = API_VERSION,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if (webhook_url is None) != (webhook_secret is None):
            raise ValueError("a webhook endpoint needs both a URL and a signing secret")
        self.public_url = public_url.rstrip("/")
        self.api_key = api_key
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.webhook_transport = webhook_transport
        self.api_version = api_version
        self.sessions: dict[str, JsonObject] = {}
        self.charges: dict[str, JsonObject] = {}
        self.events: list[JsonObject] = []
        self.deliveries: list[Delivery] = []
        self.api_requests: list[ApiRequest] = []
        self._owners: dict[str, str] = {}
        self._idempotent: dict[tuple[str, str], _StoredResult] = {}
        self._failures: list[int] = []
        self._failed_payments: set[str] = set()
        self._log = log or (lambda _line: None)

    def fail_next(self, count: int = 1, *, status: int = 503) -> None:
        """Answer the next ``count`` API requests with ``status`` before they reach Stripe's
        idempotency layer (an overloaded edge), so retries of them are not replays."""
        self._failures.extend([status] * count)

    # --- ASGI -----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        query = scope.get("query_string", b"").decode("latin-1")
        response = await self._dispatch(scope["method"], scope["path"], query, headers, body)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in response.headers
                ],
            }
        )
        await send({"type": "http.response.body", "body": response.body})

    async def _dispatch(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> _Response:
        if path.startswith("/v1/"):
            return self._api(method, path, headers, body)
        arguments = {name: values[-1] for name, values in parse_qs(query).items()}
        try:
            if (match := _PAY_PATH.match(path)) and method == "GET":
                return await self._checkout_page(match["id"], arguments.get("outcome", "paid"))
            if (match := _CONTROL_PATH.match(path)) and method == "POST":
                return await self._control(match["id"], match["action"], arguments)
        except ApiError as error:
            return _json_response(error.status, error.body())
        return _text_response(404, f"Not found: {method} {path}\n")

    # --- API ------------------------------------------------------------------------------------

    def _api(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Response:
        request_id = new_id("req", test=False)
        idempotency_key = headers.get("idempotency-key")
        stripe_version = headers.get("stripe-version")
        self.api_requests.append(ApiRequest(method, path, idempotency_key, stripe_version))
        try:
            if self._failures:
                status = self._failures.pop(0)
                raise ApiError(
                    status, "An unknown error occurred (fake outage).", error_type="api_error"
                )
            api_key = self._authenticate(headers.get("authorization"))
            response = self._api_call(method, path, api_key, idempotency_key, body)
        except ApiError as error:
            response = _json_response(error.status, error.body())
            if error.status == 401:
                response.headers.append(("WWW-Authenticate", 'Bearer realm="Stripe"'))
        response.headers.extend(
            [("Request-Id", request_id), ("Stripe-Version", stripe_version or self.api_version)]
        )
        return response

    def _authenticate(self, authorization: str | None) -> str:
        if not authorization:
            raise ApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY').",
            )
        scheme, _, key = authorization.partition(" ")
        valid = key.startswith("sk_test_") and (self.api_key is None or key == self.api_key)
        if scheme.lower() != "bearer" or not valid:
            raise ApiError(401, f"Invalid API Key provided: {_redact(key)}")
        return key

    def _api_call(
        self, method: str, path: str, api_key: str, idempotency_key: str | None, body: bytes
    ) -> _Response:
        if method == "POST" and path == "/v1/checkout/sessions":
            params = parse_form(body)
            if idempotency_key is None:
                return self._create_session(api_key, params)
            if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
                raise ApiError(
                    400,
                    f"Invalid Idempotency-Key: keys have at most {MAX_IDEMPOTENCY_KEY_LENGTH} "
                    "characters.",
                )
            stored = self._idempotent.get((api_key, idempotency_key))
            if stored is not None:
                return _replay(stored, method, path, params, idempotency_key)
            response = self._create_session(api_key, params)
            self._idempotent[(api_key, idempotency_key)] = _StoredResult(
                method, path, params, response
            )
            return _with_header(response, "Idempotency-Key", idempotency_key)
        if (match := _SESSION_PATH.match(path)) and method == "GET":
            session = self.sessions.get(match["id"])
            if session is None or self._owners.get(match["id"], api_key) != api_key:
                raise ApiError(
                    404,
                    f"No such checkout.session: '{match['id']}'",
                    param="session",
                    code="resource_missing",
                )
            return _json_response(200, session)
        raise ApiError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
        )

    def _create_session(self, api_key: str, params: JsonObject) -> _Response:
        """Validate like Stripe (nothing is stored for an invalid request), then create."""
        fields = validated_session_params(params)
        session_id = new_id("cs")
        session = checkout_session_object(
            session_id=session_id,
            url=f"{self.public_url}/pay/{session_id}",
            **fields,
        )
        self.sessions[session_id] = session
        self._owners[session_id] = api_key
        self._log(
            f"created {session_id}: {session['amount_total']} {session['currency']} "
            f"(client_reference_id={session['client_reference_id']}) -> pay at {session['url']}"
        )
        return _json_response(200, session)

    # --- The customer's side and Stripe's side --------------------------------------------------

    async def _checkout_page(self, session_id: str, outcome: str) -> _Response:
        session = self._session(session_id)
        if outcome == "cancel":
            self._log(f"customer left the payment page of {session_id}")
            return _redirect_or_text(session["cancel_url"], session_id, "Payment cancelled.\n")
        if session["status"] == "expired":
            return _text_response(410, "This Checkout Session has expired.\n")
        if session["status"] == "open":
            if outcome == "paid":
                await self.pay(session_id)
            elif outcome == "delayed":
                await self.pay(session_id, delayed=True)
            else:
                return _text_response(400, "outcome is one of paid, delayed, cancel\n")
        return _redirect_or_text(session["success_url"], session_id, "Payment complete.\n")

    async def _control(self, session_id: str, action: str, arguments: dict[str, str]) -> _Response:
        result: JsonObject
        if action == "async_payment_succeeded":
            result = await self.async_payment_succeeded(session_id)
        elif action == "async_payment_failed":
            result = await self.async_payment_failed(session_id)
        elif action == "expire":
            result = await self.expire(session_id)
        elif action == "refund":
            amount = arguments.get("amount")
            if amount is not None and not (amount.isascii() and amount.isdigit()):
                raise ApiError(400, f"Invalid integer: {amount}", param="amount")
            result = await self.refund(session_id, int(amount) if amount else None)
        elif action == "dispute":
            result = await self.dispute(session_id)
        else:
            return _text_response(404, f"Unknown action {action}\n")
        return _json_response(200, result)

    async def pay(self, session_id: str, *, delayed: bool = False) -> JsonObject:
        """The customer pays: the session completes (``paid``, or still ``unpaid`` with a
        delayed payment method) and ``checkout.session.completed`` is delivered."""
        session = self._open_session(session_id)
        payment_intent = new_id("pi")
        session.update(
            status="complete",
            payment_intent=payment_intent,
            url=None,
            customer_details={
                "email": session["customer_email"] or "customer@example.com",
                "name": "Test Customer",
            },
        )
        if not delayed:
            self._charge(session)
        self._log(f"customer paid {session_id}" + (" (delayed method)" if delayed else ""))
        await self._emit("checkout.session.completed", session)
        return session

    async def async_payment_succeeded(self, session_id: str) -> JsonObject:
        session = self._delayed_session(session_id)
        self._charge(session)
        self._log(f"delayed payment of {session_id} succeeded")
        await self._emit("checkout.session.async_payment_succeeded", session)
        return session

    async def async_payment_failed(self, session_id: str) -> JsonObject:
        session = self._delayed_session(session_id)
        self._failed_payments.add(session_id)
        self._log(f"delayed payment of {session_id} failed")
        await self._emit("checkout.session.async_payment_failed", session)
        return session

    async def expire(self, session_id: str) -> JsonObject:
        session = self._open_session(session_id)
        session.update(status="expired", url=None)
        self._log(f"{session_id} expired")
        await self._emit("checkout.session.expired", session)
        return session

    async def refund(self, session_id: str, amount: int | None = None) -> JsonObject:
        """Refund ``amount`` (all that is left by default) of the session's charge."""
        charge = self._charge_of(session_id)
        remaining = charge["amount"] - charge["amount_refunded"]
        amount = remaining if amount is None else amount
        if not 0 < amount <= remaining:
            raise ApiError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining})",
                param="amount",
            )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self._log(f"refunded {amount} of {charge['id']} ({session_id})")
        await self._emit("charge.refunded", charge)
        return charge

    async def dispute(self, session_id: str) -> JsonObject:
        """The customer disputes the session's charge with their bank."""
        charge = self._charge_of(session_id)
        charge["disputed"] = True
        dispute = dispute_object(
            charge=charge["id"],
            payment_intent=charge["payment_intent"],
            amount=charge["amount"],
            currency=charge["currency"],
        )
        self._log(f"{dispute['id']} opened on {charge['id']} ({session_id})")
        await self._emit("charge.dispute.created", dispute)
        return dispute

    async def redeliver(self, event_id: str) -> Delivery:
        """Deliver an event again, as Stripe's retries (or a duplicate) do."""
        event = next(event for event in self.events if event["id"] == event_id)
        return await self._deliver(event)

    # --- Internals ------------------------------------------------------------------------------

    def _session(self, session_id: str) -> JsonObject:
        session = self.sessions.get(session_id)
        if session is None:
            raise ApiError(
                404,
                f"No such checkout.session: '{session_id}'",
                param="session",
                code="resource_missing",
            )
        return session

    def _open_session(self, session_id: str) -> JsonObject:
        session = self._session(session_id)
        if session["status"] != "open":
            raise ApiError(
                400,
                f"This Checkout Session is {session['status']}: only open sessions can change.",
                code="checkout_session_not_open",
            )
        return session

    def _delayed_session(self, session_id: str) -> JsonObject:
        session = self._session(session_id)
        pending = session["status"] == "complete" and session["payment_status"] == "unpaid"
        if not pending or session_id in self._failed_payments:
            raise ApiError(400, f"{session_id} has no delayed payment pending.")
        return session

    def _charge(self, session: JsonObject) -> None:
        charge = charge_object(
            payment_intent=session["payment_intent"],
            amount=session["amount_total"],
            currency=session["currency"],
        )
        self.charges[charge["id"]] = charge
        session["payment_status"] = "paid"

    def _charge_of(self, session_id: str) -> JsonObject:
        payment_intent = self._session(session_id)["payment_intent"]
        for charge in self.charges.values():
            if payment_intent is not None and charge["payment_intent"] == payment_intent:
                return charge
        raise ApiError(400, f"{session_id} has not been paid.")

    async def _emit(self, event_type: str, obj: JsonObject) -> None:
        event = event_envelope(
            event_type,
            copy.deepcopy(obj),  # a snapshot: later changes must not leak into it
            api_version=self.api_version,
            pending_webhooks=1 if self.webhook_url else 0,
        )
        self.events.append(event)
        if self.webhook_url is not None:
            await self._deliver(event)

    async def _deliver(self, event: JsonObject) -> Delivery:
        assert self.webhook_url is not None and self.webhook_secret is not None
        body = encode_event(event)
        headers = webhook_headers(body, self.webhook_secret)
        try:
            async with httpx.AsyncClient(transport=self.webhook_transport, timeout=10) as client:
                response = await client.post(self.webhook_url, content=body, headers=headers)
            delivery = Delivery(event["id"], event["type"], response.status_code)
        except httpx.HTTPError as exc:
            delivery = Delivery(event["id"], event["type"], None, f"{type(exc).__name__}: {exc}")
        self.deliveries.append(delivery)
        outcome = delivery.status_code if delivery.error is None else delivery.error
        self._log(f"delivered {event['type']} {event['id']} to {self.webhook_url}: {outcome}")
        return delivery


# --- Helpers ------------------------------------------------------------------------------------


def _replay(
    stored: _StoredResult, method: str, path: str, params: JsonObject, idempotency_key: str
) -> _Response:
    if (stored.method, stored.path, stored.params) != (method, path, params):
        raise ApiError(
            400,
            "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than '{idempotency_key}' if you meant to "
            "execute a different request.",
            error_type="idempotency_error",
        )
    replay = _with_header(stored.response, "Idempotency-Key", idempotency_key)
    return _with_header(replay, "Idempotent-Replayed", "true")


def _redact(key: str) -> str:
    if len(key) <= 12:
        return "****"
    return f"{key[:8]}{'*' * (len(key) - 12)}{key[-4:]}"


def _json_response(status: int, body: JsonObject) -> _Response:
    return _Response(
        status, json.dumps(body, indent=2).encode(), [("Content-Type", "application/json")]
    )


def _text_response(status: int, text: str) -> _Response:
    return _Response(status, text.encode(), [("Content-Type", "text/plain; charset=utf-8")])


def _redirect_or_text(url: str | None, session_id: str, text: str) -> _Response:
    if url is None:
        return _text_response(200, text)
    # Stripe fills in the template variable of success URLs.
    location = url.replace("{CHECKOUT_SESSION_ID}", quote(session_id))
    return _Response(303, b"", [("Location", location)])


def _with_header(response: _Response, name: str, value: str) -> _Response:
    return _Response(response.status, response.body, [*response.headers, (name, value)])


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
