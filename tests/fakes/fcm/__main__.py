"""`make fake-fcm`: the fake FCM on a port, and a service account's JSON key pointing at it."""

import argparse
import asyncio
from pathlib import Path

from tests.fakes.fcm.server import FakeFcm, service_account


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.fcm")
    parser.add_argument("--port", type=int, default=12114)
    parser.add_argument("--project", default="streampools-demo")
    parser.add_argument("--credentials", type=Path, default=Path(".data/fake-fcm.json"))
    args = parser.parse_args()
    fake = await FakeFcm(project=args.project).start(port=args.port)
    path = service_account(fake.url, args.project, args.credentials)
    print(f"fake FCM on {fake.url}; service account key: {path}")
    print(f"pushes received: curl -s {fake.url}/_fake/messages", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


if __name__ == "__main__":
    # On uvloop (installed with uvicorn[standard]) as the web server runs: about an eighth less
    # CPU per request than asyncio's loop, for the benchmark that drives it flat out.
    import uvloop

    uvloop.run(main())
