"""Fan-out benchmark: 2,000 Socket.IO clients in one channel room while bets and chat flow,
against our web process and against a minimal Node Socket.IO server doing the same broadcasts.
Targets: server CPU per delivery within 3x of Node's; last-recipient p99 under 250 ms."""

import asyncio
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from app.kit.embedded import free_port
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

CLIENTS = 2_000
DRIVERS = 20  # signed-in users placing the bets and sending the chat messages
POOLS = 2
CPU_RATIO_TARGET = 3.0
JOIN_RATIO_TARGET = 0.5
P99_TARGET_MS = 250.0


@dataclass(frozen=True)
class Level:
    name: str
    bet_rate: int  # bets a second, spread over the pools
    chat_rate: int  # stamped chat messages a second
    seconds: int


#: The targets are judged at "betting"; "chat only" shows the cost of broadcasts alone.
LEVELS = (Level("chat only", 0, 2, 12), Level("betting", 50, 4, 25))
#: Before the levels, untimed: first statements prepared, first scripts loaded, on both servers.
WARM_UP = Level("warm-up", 20, 2, 3)

EXPLANATION = f"""
{CLIENTS:,} anonymous clients (socket.io-client, WebSocket transport, all in one Node process)
join one channel's room. {DRIVERS} signed-in clients (a second Node process, also in the room)
send stamped chat messages and place bets on {POOLS} open pools, after an untimed warm-up, at
two levels: "chat only", 2 messages a second and no bets; "betting", 4 messages and 50 bets a
second (25 a pool), each pool's `pool:updated` going out at its coalesced pace (at most 4 a
second): some 10 broadcasts, 20,000 deliveries, a second. That is about what one Node swarm
process absorbs here (2 cores), and 2,000 viewers of 2 busy pools is a plausible busy stream.

Every broadcast reaching a swarm client is a delivery. Latency is measured on the chat
messages, broadcast one for one: each carries the moment its sender emitted it, and its
latency is the time until the last of the {CLIENTS:,} clients got it. CPU is the server
process's user+system time (/proc) over the run; for ours, Redis's share (every emit crosses
Redis pub/sub) is shown apart.

The reference is a minimal Node `socket.io` server fed by the same drivers: it acks bets with
a canned answer, broadcasts each chat message as it comes (same fields), and while bets flow
broadcasts `pool:updated` with the payload captured from our run, at the pace our run had.
"""


@dataclass
class Run:
    """What one server did at one level."""

    level: Level
    error: str | None = None
    members: int = 0
    deliveries: int = 0
    seconds: float = math.nan
    cpu: float = math.nan
    redis_cpu: float | None = None
    latencies: list[float] = field(default_factory=list)
    chats_acked: int = 0
    bets_acked: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    disconnects: int = 0
    events: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, Any] = field(default_factory=dict)
    swarm_cpu_share: float = math.nan
    machine_cores_busy: float = math.nan
    #: How fast the swarm connected and joined the channel (clients a second, 50 at a time).
    join_rate: float = math.nan

    @property
    def per_second(self) -> float:
        return self.deliveries / self.seconds if self.seconds > 0 else math.nan

    @property
    def cpu_per_thousand(self) -> float:
        return self.cpu / self.deliveries * 1000 if self.deliveries else math.nan

    @property
    def fully_delivered(self) -> bool:
        return 0 < len(self.latencies) == self.chats_acked

    def percentile(self, fraction: float) -> float:
        return report.percentile(self.latencies, fraction)

    def rate_of(self, event: str) -> float:
        return float(self.events.get(event, {}).get("count", 0)) / self.level.seconds

    def pace(self, event: str) -> str:
        """Messages a second of one event, and their average size as the swarm got them."""
        seen = self.events.get(event, {})
        if not seen.get("count"):
            return "0"
        return f"{self.rate_of(event):.1f} ({seen['bytes'] / seen['count']:.0f} B)"


async def load(url: str, server_pid: int, world: World, redis_pid: int | None) -> list[Run]:
    """Swarm in, drivers in, then each level in turn against one server."""
    async with children() as started:
        swarm = await Child.node(
            "swarm.mjs",
            {"url": url, "clients": CLIENTS, "channel": world.channel_id, "connectConcurrency": 50},
        )
        started.append(swarm)
        ready = await swarm.expect("ready", within=150)
        if ready["failed"]:
            print(f"  {ready['failed']} swarm clients failed to join: {ready['failures']}")
        join_rate = ready["connected"] / ready["joinSeconds"]
        drivers = await Child.node(
            "bettors.mjs",
            {
                "url": url,
                "channel": world.channel_id,
                "join": True,
                "bettors": world.bettors_config(),
                "pools": world.pools_config(),
            },
        )
        started.append(drivers)
        await drivers.expect("ready", within=60)
        await drivers.send(f"run {phase(WARM_UP)}")
        await drivers.expect("result", within=WARM_UP.seconds + 30)
        await asyncio.sleep(1)  # the warm-up's last coalesced updates go out untimed
        runs = [await run_level(level, swarm, drivers, server_pid, redis_pid) for level in LEVELS]
        for run in runs:
            run.join_rate = join_rate
        return runs


def phase(level: Level) -> str:
    """The drivers' orders for a level: bets and chat messages at a fixed pace (open loop)."""
    return json.dumps(
        {
            "mode": "open",
            "rate": level.bet_rate,
            "chatRate": level.chat_rate,
            "seconds": level.seconds,
        }
    )


async def run_level(
    level: Level, swarm: Child, drivers: Child, server_pid: int, redis_pid: int | None
) -> Run:
    run = Run(level)
    cpu_before = cpu_seconds(server_pid)
    redis_before = cpu_seconds(redis_pid) if redis_pid else 0.0
    swarm_before = cpu_seconds(swarm.pid)
    machine_before = machine_busy_seconds()
    await swarm.send("start")
    await swarm.expect("started", within=10)
    await drivers.send(f"run {phase(level)}")
    driven = await drivers.expect("result", within=level.seconds + 30)
    await swarm.send(f"stop {driven['chat']['ok']}")
    result = await swarm.expect("result", within=30)
    run.cpu = cpu_seconds(server_pid) - cpu_before
    if redis_pid:
        run.redis_cpu = cpu_seconds(redis_pid) - redis_before
    # Deliveries are counted until the last one came, grace period included.
    delivering = (result["lastDeliveryAt"] - result["startedAt"]) / 1000
    run.seconds = delivering if delivering > 0 else level.seconds
    run.swarm_cpu_share = (cpu_seconds(swarm.pid) - swarm_before) / run.seconds
    run.machine_cores_busy = (machine_busy_seconds() - machine_before) / run.seconds
    run.members = result["members"]
    run.deliveries = result["deliveries"]
    run.latencies = result["stamped"]["lastLatencies"]
    run.chats_acked = driven["chat"]["ok"]
    run.bets_acked = driven["ok"]
    run.refused = {**driven["errors"], **driven["chat"]["errors"]}
    run.disconnects = result["disconnects"]
    run.events = result["events"]
    run.samples = result["samples"]
    return run


def failed(error: Exception) -> list[Run]:
    message = f"{type(error).__name__}: {error}"
    return [Run(level, error=message) for level in LEVELS]


async def measure_ours(stack: Stack, world: World) -> list[Run]:
    try:
        async with children() as started:
            web, url = await start_web(stack, {})
            started.append(web)
            redis_pid = stack.redis.process.pid if stack.redis.process else None
            return await load(url, web.pid, world, redis_pid)
    except Exception as error:
        return failed(error)


async def measure_reference(world: World, ours: list[Run]) -> list[Run]:
    betting = ours[-1]
    sample = betting.samples.get("pool:updated") or _synthetic_update(world)
    config = {
        "port": free_port(),
        "channel": world.channel_id,
        "poolIds": [pool_id for pool_id, _ in world.pools],
        "poolUpdated": {
            "perSecond": betting.rate_of("pool:updated") if not betting.error else 4.0 * POOLS,
            "payload": sample,
        },
    }
    try:
        async with children() as started:
            server = await Child.node("reference_server.mjs", config)
            started.append(server)
            listening = await server.expect("listening", within=20)
            return await load(f"http://127.0.0.1:{listening['port']}", server.pid, world, None)
    except Exception as error:
        return failed(error)


def _synthetic_update(world: World) -> dict[str, Any]:
    """A `pool:updated` shaped like ours, for when our run produced none to copy."""
    pool_id, outcomes = world.pools[0]
    return {
        "id": pool_id,
        "channel_id": world.channel_id,
        "status": "open",
        "total": 1000,
        "bettors": 20,
        "outcomes": [
            {"id": o, "total": 500, "bettors": 10, "multiplier_bps": 20000} for o in outcomes
        ],
    }


def print_level(ours: Run, node: Run) -> None:
    level = ours.level
    print(f'\n  level "{level.name}": {level.chat_rate} chat message(s)/s, {level.bet_rate} bets/s')
    for run, name in ((ours, "ours"), (node, "node")):
        if run.error:
            print(f"  {name}: the run failed: {run.error}")
    report.columns("ours (Python)", "reference (Node)")
    report.row("clients in the room", f"{ours.members:,}", f"{node.members:,}")
    for event in ("pool:updated", "chat:message"):
        report.row(f"{event} messages/s (bytes each)", ours.pace(event), node.pace(event))
    report.row("deliveries/s", f"{ours.per_second:,.0f}", f"{node.per_second:,.0f}")
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        report.row(
            f"last-recipient latency {label}",
            f"{ours.percentile(fraction):,.1f} ms",
            f"{node.percentile(fraction):,.1f} ms",
        )
    report.row(
        "stamped messages reaching every client",
        f"{len(ours.latencies)}/{ours.chats_acked}",
        f"{len(node.latencies)}/{node.chats_acked}",
    )
    report.row(
        "server CPU s per 1,000 deliveries",
        f"{ours.cpu_per_thousand:.4f}",
        f"{node.cpu_per_thousand:.4f}",
    )
    if ours.redis_cpu is not None and ours.deliveries:
        redis = ours.redis_cpu / ours.deliveries * 1000
        report.row("  and Redis CPU s per 1,000 deliveries", f"{redis:.4f}", "-")
    report.row("bets acked ok", f"{ours.bets_acked:,}", f"{node.bets_acked:,}")
    report.row(
        "swarm process CPU (share of one core)",
        f"{ours.swarm_cpu_share:.0%}",
        f"{node.swarm_cpu_share:.0%}",
    )
    report.row(
        f"whole machine busy (cores of {os.cpu_count()})",
        f"{ours.machine_cores_busy:.2f}",
        f"{node.machine_cores_busy:.2f}",
    )
    for run, name in ((ours, "ours"), (node, "node")):
        if run.refused or run.disconnects:
            print(f"  {name}: failed acks {run.refused}, swarm disconnects {run.disconnects}")


def print_report(ours: list[Run], node: list[Run]) -> None:
    report.header("Fan-out: 2,000 clients in one channel room", EXPLANATION)
    for mine, theirs in zip(ours, node, strict=True):
        print_level(mine, theirs)
    betting, reference = ours[-1], node[-1]
    print()
    report.columns("ours (Python)", "reference (Node)")
    report.row(
        f"connect and join, {CLIENTS:,} anonymous clients",
        f"{betting.join_rate:,.0f} clients/s",
        f"{reference.join_rate:,.0f} clients/s",
    )
    print()
    ratio = betting.cpu_per_thousand / reference.cpu_per_thousand
    report.verdict(
        f"CPU per delivery within {CPU_RATIO_TARGET:g}x of Node's (betting)",
        ratio <= CPU_RATIO_TARGET,
        f"{ratio:.2f}x",
    )
    join_ratio = betting.join_rate / reference.join_rate
    report.verdict(
        f"connect-and-join rate at least {JOIN_RATIO_TARGET:g}x Node's",
        join_ratio >= JOIN_RATIO_TARGET,
        f"{join_ratio:.2f}x",
    )
    p99 = betting.percentile(0.99)
    complete = "" if betting.fully_delivered else " (not every message reached every client)"
    report.verdict(
        f"last-recipient p99 under {P99_TARGET_MS:g} ms (betting)",
        p99 < P99_TARGET_MS and betting.fully_delivered,
        f"{p99:,.1f} ms{complete}",
    )


async def bench(stack: Stack) -> None:
    world = await build_world(stack, pools=POOLS, bettors=DRIVERS, funds=10_000_000)
    ours = await measure_ours(stack, world)
    node = await measure_reference(world, ours)
    print_report(ours, node)


def main() -> None:
    print(f"fan-out: {CLIENTS:,} clients in one room, our server then Node's ...")
    with embedded_stack("bench_fanout") as stack:
        asyncio.run(bench(stack))
