"""The Socket.IO server: connect-time authentication; clients without a token may only watch."""

import logging
from collections.abc import Callable
from typing import Any

import socketio

from app.auth.errors import InvalidAccessToken
from app.auth.service import auth_service
from app.kit.resources import Resources
from app.settings import Settings

log = logging.getLogger("streampools.realtime")


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def build_socket_server(
    settings: Settings, resources: Callable[[], Resources]
) -> socketio.AsyncServer:
    """A server that fans out through Redis, so emits from any process reach every client."""
    server = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=socketio.AsyncRedisManager(settings.redis_url, channel="socketio"),
        cors_allowed_origins=settings.cors_origins,
        max_http_buffer_size=64 * 1024,
        logger=False,
        engineio_logger=False,
    )

    @server.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not token:
            await server.save_session(sid, {"user_id": None, "role": None, "expires_at": None})
            return
        try:
            if not isinstance(token, str):
                raise InvalidAccessToken()
            principal, expires_at = await auth_service.authenticate(resources(), token)
        except InvalidAccessToken as error:
            # The client's connect_error gets {message, data: {code}}.
            raise socketio.exceptions.ConnectionRefusedError(
                error.detail, {"code": error.code}
            ) from error
        await server.save_session(
            sid,
            {"user_id": principal.user_id, "role": principal.role.value, "expires_at": expires_at},
        )
        await server.enter_room(sid, user_room(principal.user_id))

    @server.event
    async def whoami(sid: str, _: Any = None) -> dict[str, Any]:
        session = await server.get_session(sid)
        return {"ok": True, "user_id": session.get("user_id")}

    return server
