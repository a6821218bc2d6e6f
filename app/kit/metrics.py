"""Who may read Prometheus metrics: ``/metrics`` on the public port, or a listener of its own
on an internal port (the worker's, and the web's when its metrics leave the public port)."""

import hmac
import ipaddress
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.prometheus import PrometheusController
from prometheus_client import REGISTRY, make_wsgi_app
from pydantic import SecretStr

from app.kit.errors import NotAuthenticated
from app.settings import Settings

log = logging.getLogger(__name__)


class MetricsTokenRequired(NotAuthenticated):
    code = "metrics_token_required"
    message = "Metrics need the metrics token (Authorization: Bearer <token>)."

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="metrics"'}


def token_accepts(token: SecretStr, authorization: str | None) -> bool:
    """Whether an ``Authorization`` header carries the metrics token (any caller when no token
    is set). Compared in constant time, so the token cannot be guessed byte by byte."""
    expected = token.get_secret_value()
    if not expected:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), expected.encode()
    )


def metrics_controller(settings: Settings) -> type[PrometheusController] | None:
    """``/metrics`` on the public port, behind the token when one is set; None when metrics
    are not served there (see ``Settings.public_metrics``)."""
    if not settings.public_metrics:
        if not settings.metrics_port:
            log.warning(
                "/metrics is not served: in production it needs STREAMPOOLS_METRICS_TOKEN,"
                " or STREAMPOOLS_METRICS_PORT for a port of its own"
            )
        return None
    token = settings.metrics_token

    async def require_token(
        connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        if not token_accepts(token, connection.headers.get("authorization")):
            raise MetricsTokenRequired()

    class MetricsController(PrometheusController):
        path = "/metrics"
        include_in_schema = False
        guards = [require_token]

    return MetricsController


# -- a listener of its own ----------------------------------------------------------------------


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No log line per scrape."""


def _guarded(token: SecretStr) -> WSGIApplication:
    exposition = make_wsgi_app(REGISTRY)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not token_accepts(token, environ.get("HTTP_AUTHORIZATION")):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')],
            )
            return [b"metrics token required\n"]
        served: Iterable[bytes] = exposition(environ, start_response)
        return served

    return app


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class MetricsListener:
    """This process's metrics, served from a thread on a port of their own."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start_metrics_listener(settings: Settings, port: int) -> MetricsListener | None:
    """Serve metrics on ``settings.metrics_host:port`` (None when ``port`` is 0). In
    production a listener reachable from other hosts is refused without the token."""
    if not port:
        return None
    token = settings.metrics_token
    host = settings.metrics_host
    if settings.env == "production" and not _loopback(host) and not token.get_secret_value():
        log.warning(
            "metrics listener not started: %s is not loopback and STREAMPOOLS_METRICS_TOKEN"
            " is not set",
            host,
        )
        return None
    server = make_server(host, port, _guarded(token), _Server, _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    return MetricsListener(server, thread)
