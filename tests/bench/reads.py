"""Reads benchmark: `GET /api/v1/pools/{id}` as every anonymous viewer polls it, 50 keep-alive
connections flat out, beside a bare ASGI app returning the same bytes under the same uvicorn
options, and `GET /healthz` (the framework and its middleware with no work behind them).
Target: the pool read at least 0.5x the bare app's rate."""

import asyncio
import json
import math
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.kit.embedded import free_port
from app.kit.resources import open_resources
from app.pool import schemas as pool_schemas
from app.pool.betting import pool_betting
from tests.bench import report
from tests.bench.stack import (
    Child,
    Stack,
    children,
    cpu_seconds,
    embedded_stack,
    start_web,
    wait_healthy,
)
from tests.bench.world import bench_settings, build_world

#: uvicorn's pure-Python event loop and HTTP parser, against its default uvloop and httptools.
PURE_PYTHON = {"STREAMPOOLS_WEB_LOOP": "asyncio", "STREAMPOOLS_WEB_HTTP": "h11"}
CONNECTIONS = 50
SECONDS = 8
RATE_TARGET = 0.5

EXPLANATION = f"""
One open pool of three outcomes with bets on it, read anonymously by {CONNECTIONS} keep-alive
HTTP connections (one Node process), each sending its next request as soon as the last answer
came, for {SECONDS} s after a warm-up. Beside it, in the same run: a bare ASGI app (no framework)
answering every request with the very bytes the pool read returns, served by uvicorn with the web
process's own options; and `GET /healthz` of the web process (routing, the request-id, metrics and
logging middleware, and nothing else). CPU is the serving process's own, per request. Also the
same pool read revalidated with `If-None-Match` (304 while nothing changed), and both reads again
with the web process on asyncio's own event loop and the h11 parser instead of uvicorn's default
uvloop and httptools.
"""


@dataclass
class Load:
    requests: int = 0
    seconds: float = math.nan
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    cpu: float = math.nan

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else math.nan

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.requests if self.requests else math.nan

    def percentile(self, fraction: float) -> float:
        return report.percentile(self.latencies, fraction)


async def load(server: Child, url: str, headers: dict[str, str] | None = None) -> Load:
    before = cpu_seconds(server.pid)
    async with children() as started:
        client = await Child.node(
            "http_load.mjs",
            {
                "url": url,
                "connections": CONNECTIONS,
                "seconds": SECONDS,
                "warmup": 1,
                "headers": headers or {},
            },
        )
        started.append(client)
        done = await client.expect("done", within=SECONDS + 60)
    return Load(
        requests=done["requests"],
        seconds=done["seconds"],
        latencies=done["latencies"],
        statuses=done["statuses"],
        cpu=cpu_seconds(server.pid) - before,  # includes the warm-up: a slight overstatement
    )


async def a_pool_with_bets(stack: Stack) -> int:
    world = await build_world(stack, pools=1, bettors=3, funds=1_000)
    pool_id, outcomes = world.pools[0]
    resources = await open_resources(bench_settings(stack))
    try:
        for (user_id, _), outcome, amount in zip(
            world.bettors, outcomes * 2, (300, 100, 50), strict=False
        ):
            await pool_betting.bet(
                resources,
                user_id,
                pool_id,
                pool_schemas.BetCreate(outcome_id=outcome, amount=amount),
                str(uuid.uuid4()),
            )
    finally:
        await resources.close()
    return pool_id


async def measure(stack: Stack) -> dict[str, Load]:
    pool_id = await a_pool_with_bets(stack)
    async with children() as started:
        web, url = await start_web(stack, {})
        started.append(web)
        path = f"{url}/api/v1/pools/{pool_id}"
        async with httpx.AsyncClient() as http:
            first = await http.get(path)
        first.raise_for_status()
        body = Path(tempfile.mkdtemp(dir=stack.root)) / "pool.json"
        body.write_bytes(first.content)
        port = free_port()
        bare = await Child.start(
            "bare",
            [sys.executable, "-m", "tests.bench.bare", "--port", str(port)],
            {"STREAMPOOLS_BARE_BODY": str(body)},
            log=stack.root / "bare.log",
        )
        started.append(bare)
        await wait_healthy(bare, f"http://127.0.0.1:{port}")
        results = {"bare": await load(bare, f"http://127.0.0.1:{port}/api/v1/pools/{pool_id}")}
        results["healthz"] = await load(web, f"{url}/healthz")
        results["pool"] = await load(web, path)
        etag = first.headers.get("etag")
        if etag:
            results["pool 304"] = await load(web, path, {"If-None-Match": etag})
        await web.stop()
        # The same web process on the pure-Python event loop and HTTP parser.
        plain, plain_url = await start_web(stack, PURE_PYTHON)
        started.append(plain)
        results["pool, asyncio + h11"] = await load(plain, f"{plain_url}/api/v1/pools/{pool_id}")
        results["healthz, asyncio + h11"] = await load(plain, f"{plain_url}/healthz")
        return results


def print_report(results: dict[str, Load]) -> None:
    report.header("Reads: an anonymous pool read, beside a bare ASGI app", EXPLANATION)
    names = [n for n in ("pool", "pool 304", "healthz", "bare") if n in results]
    labels = {
        "pool": "GET pool (ours)",
        "pool 304": "GET pool, 304",
        "healthz": "GET /healthz",
        "bare": "bare ASGI (ref.)",
    }
    report.columns(*(labels[n] for n in names))
    report.row("requests/s", *(f"{results[n].rate:,.0f}" for n in names))
    report.row("vs bare", *(f"{results[n].rate / results['bare'].rate:.2f}x" for n in names))
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        report.row(
            f"latency {label}", *(f"{results[n].percentile(fraction):.1f} ms" for n in names)
        )
    report.row("server CPU per request", *(f"{results[n].cpu_ms:.3f} ms" for n in names))
    report.row("statuses", *(json.dumps(results[n].statuses) for n in names))
    print()
    report.columns("uvloop + httptools", "asyncio + h11")
    for name in ("pool", "healthz"):
        fast, plain = results[name], results[f"{name}, asyncio + h11"]
        report.row(f"{labels[name]}: requests/s", f"{fast.rate:,.0f}", f"{plain.rate:,.0f}")
        report.row(
            f"{labels[name]}: CPU per request", f"{fast.cpu_ms:.3f} ms", f"{plain.cpu_ms:.3f} ms"
        )
    print()
    ratio = results["pool"].rate / results["bare"].rate
    report.verdict(
        f"pool read at least {RATE_TARGET}x the bare app", ratio >= RATE_TARGET, f"{ratio:.2f}x"
    )


def main() -> None:
    print(f"reads: {CONNECTIONS} connections, {SECONDS} s per target ...")
    with embedded_stack("bench_reads") as stack:
        print_report(asyncio.run(measure(stack)))


if __name__ == "__main__":
    main()
