"""Bet intake benchmark: 200 signed-in Socket.IO clients placing bets (`bet:place`, acked)
flat out, then at 70 % of that rate, beside pgbench running the same SQL transaction on the
same PostgreSQL (one bet a transaction, with 20 clients and with 200; the better is the
reference). Targets: at least 1.5x pgbench's rate; ack p99 under 50 ms at 70 % load."""

import asyncio
import json
import math
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.kit.embedded import _postgres_bin
from tests.bench import report
from tests.bench.stack import (
    Child,
    Stack,
    children,
    cpu_seconds,
    embedded_stack,
    machine_busy_seconds,
    start_web,
)
from tests.bench.world import World, build_world

BETTORS = 200
POOLS = 10
WARM_UP_SECONDS = 3
SATURATION_SECONDS = 10
STEADY_SECONDS = 15
STEADY_SHARE = 0.7
PGBENCH_SECONDS = 10
#: The web process holds at most this many database connections (its pool, as app.kit.db
#: configures it); pgbench runs with that many clients and with one per bettor.
PGBENCH_CLIENTS = (20, BETTORS)
RATE_TARGET = 1.5
P99_TARGET_MS = 50.0
SCRIPT = Path(__file__).with_name("bet.pgbench.sql")
#: Per-connection event limits out of the way: one client here stands for many real ones.
SERVER_ENV = {
    "STREAMPOOLS_SOCKET_EVENTS_PER_SECOND": "100000",
    "STREAMPOOLS_SOCKET_EVENT_BURST": "100000",
}

EXPLANATION = f"""
{BETTORS} clients (socket.io-client, WebSocket transport, one Node process), each signed in as a
different user holding the channel's points, bet 1 point at a time over {POOLS} open pools,
always on the same outcome of a pool, each with a fresh idempotency key. They do not join the
channel's room: this measures intake, not fan-out. After a {WARM_UP_SECONDS} s warm-up they bet
flat out for {SATURATION_SECONDS} s (each client sends its next bet when the last one is acked:
{BETTORS} outstanding); the accepted bets a second of that run is the saturation rate. Then
they bet open-loop at {STEADY_SHARE:.0%} of it for {STEADY_SECONDS} s, timing every ack.

The reference is pgbench ({PGBENCH_SECONDS} s, prepared statements) running
tests/bench/bet.pgbench.sql on an identical copy of the database: a bet's database work (claim
the placement, share-lock the pool, check the outcome, upsert the position, the ledger
transaction and its two entries, read the balance back), one bet a transaction, over the same
users, pools and outcomes. It runs with {PGBENCH_CLIENTS[0]} clients (the web process's most
database connections) and with {PGBENCH_CLIENTS[1]} (one per bettor); the better is the
reference.
"""


@dataclass
class Phase:
    """One run of the bettors: what was sent, accepted, refused, and how long acks took."""

    seconds: float
    sent: int = 0
    accepted: int = 0
    accepted_in_window: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    server_cpu_share: float = math.nan
    bettors_cpu_share: float = math.nan
    machine_cores_busy: float = math.nan

    @property
    def rate(self) -> float:
        return self.accepted_in_window / self.seconds

    def percentile(self, fraction: float) -> float:
        return report.percentile(self.latencies, fraction)


@dataclass
class Ours:
    error: str | None = None
    saturation: Phase | None = None
    steady: Phase | None = None
    offered: float = math.nan


@dataclass(frozen=True)
class Pgbench:
    clients: int
    tps: float
    latency_ms: float
    failed: int
    error: str | None = None


async def run_phase(bettors: Child, server_pid: int, phase: dict[str, Any]) -> Phase:
    server_before, bettors_before = cpu_seconds(server_pid), cpu_seconds(bettors.pid)
    machine_before = machine_busy_seconds()
    await bettors.send(f"run {json.dumps(phase)}")
    result = await bettors.expect("result", within=phase["seconds"] + 30)
    done = Phase(
        seconds=phase["seconds"],
        sent=result["sent"],
        accepted=result["ok"],
        accepted_in_window=result["okInWindow"],
        errors=result["errors"],
        latencies=result["latencies"],
    )
    # Shares of one core over the phase's own length (the drain after it is short).
    done.server_cpu_share = (cpu_seconds(server_pid) - server_before) / phase["seconds"]
    done.bettors_cpu_share = (cpu_seconds(bettors.pid) - bettors_before) / phase["seconds"]
    done.machine_cores_busy = (machine_busy_seconds() - machine_before) / phase["seconds"]
    return done


async def measure_ours(stack: Stack, world: World) -> Ours:
    ours = Ours()
    try:
        async with children() as started:
            web, url = await start_web(stack, SERVER_ENV)
            started.append(web)
            bettors = await Child.node(
                "bettors.mjs",
                {
                    "url": url,
                    "channel": world.channel_id,
                    "join": False,
                    "bettors": world.bettors_config(),
                    "pools": world.pools_config(),
                },
            )
            started.append(bettors)
            ready = await bettors.expect("ready", within=60)
            if ready["failed"]:
                raise RuntimeError(f"{ready['failed']} bettors could not connect: {ready}")
            warm_up = {"mode": "open", "rate": 100, "seconds": WARM_UP_SECONDS}
            await run_phase(bettors, web.pid, warm_up)
            flat_out = {"mode": "closed", "inflight": 1, "seconds": SATURATION_SECONDS}
            ours.saturation = await run_phase(bettors, web.pid, flat_out)
            ours.offered = round(ours.saturation.rate * STEADY_SHARE)
            steady = {"mode": "open", "rate": ours.offered, "seconds": STEADY_SECONDS}
            ours.steady = await run_phase(bettors, web.pid, steady)
            await bettors.send("quit")
    except Exception as error:
        ours.error = f"{type(error).__name__}: {error}"
    return ours


def pgbench_variables(world: World) -> dict[str, int]:
    """What the script needs to draw a bettor, a pool and that bettor's outcome; it relies on
    ids handed out in creation order, so check they were."""
    users = [user_id for user_id, _ in world.bettors]
    pools = [pool_id for pool_id, _ in world.pools]
    outcomes = [outcome for _, pair in world.pools for outcome in pair]
    for ids in (users, pools, outcomes):
        if ids != list(range(ids[0], ids[0] + len(ids))):
            raise RuntimeError("the seeded ids are not consecutive; the pgbench script needs them")
    return {
        "first_user": users[0],
        "bettors": len(users),
        "first_pool": pools[0],
        "pools": len(pools),
        "first_outcome": outcomes[0],
    }


def run_pgbench(stack: Stack, database: str, clients: int, variables: dict[str, int]) -> Pgbench:
    args = [
        str(_postgres_bin() / "pgbench"),
        "-n",
        "-M",
        "prepared",
        "-c",
        str(clients),
        "-j",
        "2",
        "-T",
        str(PGBENCH_SECONDS),
        "-f",
        str(SCRIPT),
        "-h",
        "127.0.0.1",
        "-p",
        str(stack.postgres.port),
        "-U",
        "postgres",
    ]
    for name, value in variables.items():
        args += ["-D", f"{name}={value}"]
    done = subprocess.run(
        [*args, database],
        capture_output=True,
        text=True,
        timeout=PGBENCH_SECONDS + 60,
        check=False,
    )
    tps = re.search(r"tps = ([\d.]+)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if done.returncode != 0 or tps is None:
        error = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return Pgbench(clients, math.nan, math.nan, 0, " / ".join(error))
    return Pgbench(
        clients,
        float(tps.group(1)),
        float(latency.group(1)) if latency else math.nan,
        int(failed.group(1)) if failed else 0,
    )


def print_report(ours: Ours, references: list[Pgbench]) -> None:
    report.header("Bet intake: 200 clients betting over Socket.IO", EXPLANATION)
    if ours.error:
        print(f"  ours: the run failed: {ours.error}")
    for pg in references:
        if pg.error:
            print(f"  pgbench -c {pg.clients}: failed: {pg.error}")
    saturation, steady = ours.saturation, ours.steady
    rate = saturation.rate if saturation else math.nan
    report.columns("ours (Socket.IO)", *(f"pgbench -c {pg.clients}" for pg in references))
    report.row(
        "accepted bets/s, flat out", f"{rate:,.0f}", *(f"{pg.tps:,.0f}" for pg in references)
    )
    report.row(
        "latency flat out (ours: p50/p99 of acks)",
        f"{saturation.percentile(0.5):,.0f}/{saturation.percentile(0.99):,.0f} ms"
        if saturation
        else "-",
        *(f"avg {pg.latency_ms:,.1f} ms" for pg in references),
    )
    if saturation:
        report.row("CPU of the web process (of one core)", f"{saturation.server_cpu_share:.0%}")
        report.row(
            "CPU of the bettors process (of one core)", f"{saturation.bettors_cpu_share:.0%}"
        )
        report.row(
            f"whole machine busy (cores of {os.cpu_count()})",
            f"{saturation.machine_cores_busy:.2f}",
        )
    if steady:
        report.row(f"offered at {STEADY_SHARE:.0%} of flat out", f"{ours.offered:,.0f} bets/s")
        report.row("  accepted", f"{steady.rate:,.0f} bets/s")
        report.row("  ack latency p50", f"{steady.percentile(0.5):.1f} ms")
        report.row("  ack latency p99", f"{steady.percentile(0.99):.1f} ms")
        report.row("  ack latency max", f"{max(steady.latencies, default=math.nan):.1f} ms")
        report.row("  whole machine busy (cores)", f"{steady.machine_cores_busy:.2f}")
    for name, phase in (("flat out", saturation), ("steady", steady)):
        if phase and phase.errors:
            print(f"  refused or lost ({name}): {phase.errors}")
    failed = sum(pg.failed for pg in references)
    if failed:
        print(f"  pgbench transactions that failed: {failed}")
    print()
    best = max(references, key=lambda pg: -1.0 if math.isnan(pg.tps) else pg.tps)
    ratio = rate / best.tps
    report.verdict(
        f"at least {RATE_TARGET:g}x pgbench's rate",
        ratio >= RATE_TARGET,
        f"{ratio:.2f}x (against pgbench -c {best.clients})",
    )
    p99 = steady.percentile(0.99) if steady else math.nan
    clean = steady is not None and not steady.errors
    report.verdict(
        f"ack p99 at most {P99_TARGET_MS:g} ms at {STEADY_SHARE:.0%} load",
        p99 <= P99_TARGET_MS and clean,
        f"{p99:.1f} ms" + ("" if clean else " (some bets failed)"),
    )


def main() -> None:
    print(f"bet intake: {BETTORS} bettors over Socket.IO, then pgbench ...")
    with embedded_stack("bench_intake") as stack:
        world = asyncio.run(build_world(stack, pools=POOLS, bettors=BETTORS, funds=10_000_000))
        variables = pgbench_variables(world)
        copies = [f"bench_pgbench_{clients}" for clients in PGBENCH_CLIENTS]
        for copy in copies:
            stack.postgres.create_database(copy, template=stack.database)
        ours = asyncio.run(measure_ours(stack, world))
        references = [
            run_pgbench(stack, copy, clients, variables)
            for copy, clients in zip(copies, PGBENCH_CLIENTS, strict=True)
        ]
        print_report(ours, references)
