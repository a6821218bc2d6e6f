"""The request loop every platform's API client shares: a bearer token per call, reads retried
after a network error or a 5xx, a 429 waited out when the wait is short, and a refused user
token refreshed once (``refresh``) before the call is tried again."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, TypeVar

import httpx
import msgspec

from integrations.chat import RefreshToken
from integrations.errors import (
    ApiError,
    ApiUnavailable,
    RateLimited,
    RequestFailed,
    TokenRevoked,
    request_failed,
)
from integrations.tls import client_context

Params = Mapping[str, str] | list[tuple[str, str]] | None

_Decoded = TypeVar("_Decoded")


class ApiClient:
    """An HTTP API called with bearer tokens. A platform's client names itself, adds its own
    headers and reads its own rate-limit headers."""

    #: The API's name in errors ("Helix", "Kick").
    api_name: ClassVar[str]

    def __init__(
        self,
        *,
        base_url: str,
        timeout_seconds: float = 10,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 2,
        max_rate_limit_wait_seconds: float = 60,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            timeout=timeout_seconds,
            transport=transport,
            verify=client_context(),
        )
        self._max_retries = max_retries
        self._max_rate_limit_wait = max_rate_limit_wait_seconds
        self._sleep = sleep
        self._clock = clock

    async def aclose(self) -> None:
        await self._http.aclose()

    def headers(self, token: str | None) -> dict[str, str]:
        """The headers of a call made with ``token`` (None: an unauthenticated one)."""
        return {} if token is None else {"Authorization": f"Bearer {token}"}

    def remember_rate_limit(self, response: httpx.Response) -> None:
        """Keep what the response says of the token's rate-limit bucket, if anything."""

    def reset_at(self, response: httpx.Response) -> float:
        """When a 429's bucket refills: ``Retry-After`` when given, else in a second."""
        try:
            return self._clock() + float(response.headers["Retry-After"])
        except (KeyError, ValueError):
            return self._clock() + 1

    async def request(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        refresh: RefreshToken | None,
        params: Params = None,
        json: Any = None,
    ) -> httpx.Response:
        # Only reads and deletes are retried after a network error or a 5xx: a POST may have
        # taken effect (a chat message sent twice). A 429 or 401 was refused, so any may retry.
        idempotent = method in ("GET", "DELETE")
        refreshed = False
        rate_limited = failures = 0
        name = self.api_name
        while True:
            try:
                response = await self._http.request(
                    method, path, params=_query(params), json=json, headers=self.headers(token)
                )
            except httpx.HTTPError as exc:
                if idempotent and failures < self._max_retries:
                    failures += 1
                    await self._sleep(0.5 * 2**failures)
                    continue
                raise ApiUnavailable(f"{name} unreachable: {type(exc).__name__}") from exc
            self.remember_rate_limit(response)
            status = response.status_code
            if status == 429:
                reset_at = self.reset_at(response)
                wait = max(0.0, reset_at - self._clock())
                if rate_limited >= self._max_retries or wait > self._max_rate_limit_wait:
                    raise RateLimited(f"{name} rate limit on {method} {path}", reset_at=reset_at)
                rate_limited += 1
                await self._sleep(wait)
                continue
            if status == 401:
                if refresh is None:
                    raise request_failed(response)
                if refreshed:
                    error = request_failed(response)
                    raise TokenRevoked(error.message, status=401, error=error.error)
                token = await refresh()
                refreshed = True
                continue
            if status >= 500:
                if idempotent and failures < self._max_retries:
                    failures += 1
                    await self._sleep(0.5 * 2**failures)
                    continue
                raise ApiUnavailable(f"{name} failed with {status} on {method} {path}")
            if status >= 400:
                raise request_failed(response)
            return response

    async def delete(
        self, path: str, token: str, *, refresh: RefreshToken | None, params: Params = None
    ) -> bool:
        """Delete what ``path`` and ``params`` name; False when the platform no longer has it."""
        try:
            await self.request("DELETE", path, token, refresh=refresh, params=params)
        except RequestFailed as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def decode(self, response: httpx.Response, type_: type[_Decoded]) -> _Decoded:
        try:
            return msgspec.json.decode(response.content, type=type_)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise ApiError(f"unexpected answer from {self.api_name}: {exc}") from exc


def _query(params: Params) -> httpx.QueryParams:
    pairs = list(params.items()) if isinstance(params, Mapping) else params or []
    # A tuple: httpx's parameter types are invariant lists of wider values.
    return httpx.QueryParams(tuple(pairs))
