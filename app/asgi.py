"""The composition root: the Litestar HTTP app with the Socket.IO server mounted beside it."""

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import socketio
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.plugins.prometheus import PrometheusConfig

from app.auth.dependencies import provide_optional_principal, provide_principal
from app.auth.endpoints import AuthController
from app.automation.endpoints import AutomationController
from app.channel.endpoints import ChannelController, StaffChannelController
from app.health.endpoints import HealthController
from app.kit.http import (
    EXCEPTION_HANDLERS,
    provide_read_session,
    provide_resources,
    provide_session,
    repair_options_handlers,
    request_id_middleware,
    resources_of,
    strict_body,
)
from app.kit.logging import configure_logging
from app.kit.metrics import metrics_controller, start_metrics_listener
from app.kit.openapi import complete_document, openapi_config
from app.kit.resources import Resources, open_resources
from app.kit.supervisor import ProcessSlot
from app.leaderboard.endpoints import LeaderboardController
from app.notification.endpoints import NotificationController
from app.overlay.endpoints import OverlayKeyController
from app.payment.endpoints import (
    CheckoutReturnController,
    PaymentController,
    StripeWebhookController,
)
from app.platform.endpoints import (
    KickAuthController,
    PlatformController,
    TwitchAuthController,
    YouTubeAuthController,
)
from app.pool.endpoints import ChannelPoolController, PoolController
from app.pool.public import PublicPools, public_pool_reads
from app.protection.endpoints import ProtectionController
from app.settings import Settings, get_settings
from app.site.build import load_build
from app.site.endpoints import site_router
from app.stream.endpoints import TwitchWebhookController, YouTubeWebSubController
from app.user.endpoints import MeController
from app.wallet.endpoints import WalletController
from app.webhooks import register_inbox_handlers
from realtime.affinity import SessionRouter
from realtime.server import SocketApp


def create_http_app(
    settings: Settings,
    lifespans: Sequence[AbstractAsyncContextManager[None]] = (),
    *,
    process_index: int = 0,
) -> Litestar:
    """The HTTP app; ``lifespans`` run inside the one that opens the resources. Process
    ``process_index`` of a group serves its metrics port, if any, at that port plus its index."""

    public_pools = PublicPools(lambda: resources_of(app.state))

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state["resources"] = resources = await open_resources(settings)
        resources.emitter.taps.append(public_pools.heard)
        metrics = start_metrics_listener(
            settings, settings.metrics_port and settings.metrics_port + process_index
        )
        try:
            yield
        finally:
            if metrics is not None:
                metrics.close()
            await resources_of(app.state).close()

    prometheus = PrometheusConfig(
        app_name="streampools", prefix="streampools", group_path=True, exclude=["/metrics"]
    )
    metrics = metrics_controller(settings)
    build = load_build(settings.web_dist)
    app = Litestar(
        route_handlers=[
            HealthController,
            *([metrics] if metrics else []),
            AuthController,
            TwitchAuthController,
            KickAuthController,
            YouTubeAuthController,
            PlatformController,
            MeController,
            NotificationController,
            ChannelController,
            StaffChannelController,
            AutomationController,
            OverlayKeyController,
            WalletController,
            ProtectionController,
            PaymentController,
            StripeWebhookController,
            TwitchWebhookController,
            YouTubeWebSubController,
            CheckoutReturnController,
            PoolController,
            ChannelPoolController,
            LeaderboardController,
            site_router(settings, build),
        ],
        dependencies={
            "resources": Provide(provide_resources),
            "session": Provide(provide_session),
            "read_session": Provide(provide_read_session),
            "principal": Provide(provide_principal),
            "optional_principal": Provide(provide_optional_principal),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=strict_body,
        middleware=[prometheus.middleware],
        cors_config=CORSConfig(allow_origins=settings.cors_origins),
        openapi_config=openapi_config(
            title="streampools", version="1.0.0", path="/schema", assets=build.docs
        ),
        lifespan=[lifespan, *lifespans],
        state=State({"public_pools": public_pools}),
        request_max_body_size=256 * 1024,
        debug=False,
        logging_config=None,  # ours: structlog, JSON or readable lines with request ids (app.kit.logging)
    )
    # Outside the router, so unmatched routes (404, 405) get a request id and an access log too.
    app.asgi_handler = request_id_middleware(app.asgi_handler)
    # In front of everything: anonymous pool reads served from the process's copies, which
    # the pool events this process publishes or hears keep current.
    app.asgi_handler = public_pool_reads(app.asgi_handler, public_pools)
    repair_options_handlers(app)
    complete_document(app)
    return app


def create_app(settings: Settings | None = None) -> socketio.ASGIApp:
    """The whole web process: HTTP routes, and Socket.IO at ``/socket.io/`` on the same port."""
    app, _ = _web_app(settings or get_settings(), None)
    return app


def create_process_app(settings: Settings, slot: ProcessSlot) -> SessionRouter:
    """One process of a group of web processes sharing the public port (``slot`` says which):
    the whole web process behind the layer that passes its requests of another process's
    engine.io session on to that process (realtime.affinity)."""
    app, router = _web_app(settings, slot)
    assert router is not None
    router.app = app
    return router


def _web_app(
    settings: Settings, slot: ProcessSlot | None
) -> tuple[socketio.ASGIApp, SessionRouter | None]:
    configure_logging(settings.log_level, settings.json_logs)
    register_inbox_handlers()

    def resources() -> Resources:
        return resources_of(http.state)

    sockets = SocketApp(settings, resources, slot)
    lifespans: list[AbstractAsyncContextManager[None]] = [sockets.hearing_revocations()]
    router = None
    if slot is not None:
        eio = sockets.server.eio
        # A forwarded long poll is held for up to a ping interval and timeout.
        router = SessionRouter(slot, read_timeout=eio.ping_interval + eio.ping_timeout + 15)
        lifespans.append(router.running())
    http = create_http_app(settings, lifespans=lifespans, process_index=slot.index if slot else 0)
    sockets.server.manager.listen(http.state["public_pools"].heard)
    app = socketio.ASGIApp(sockets.server, other_asgi_app=http, socketio_path="socket.io")
    return app, router
