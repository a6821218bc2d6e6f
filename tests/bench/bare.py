"""The reference of the reads benchmark: a bare ASGI app answering every request with the same
bytes, served by uvicorn with the web process's own options (app.cli.uvicorn_config)."""

import argparse
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn

from app.cli import uvicorn_config
from app.settings import Settings

BODY = Path(os.environ.get("STREAMPOOLS_BARE_BODY", "/dev/null")).read_bytes()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = uvicorn_config(Settings(log_level="WARNING"), app, host="127.0.0.1", port=args.port)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
