"""Fan-out benchmark: Socket.IO clients in one channel room while bets and chat flow, against
our web process and against a minimal Node Socket.IO server doing the same broadcasts; then
10,000 idle connections held by both at once, for the memory each costs.
Targets: server CPU per delivery no more than Node's; last-recipient p99 no more than Node's and
no ack timeouts (2,000 clients, betting); last-recipient p99 under 250 ms with 10,000 clients;
memory per idle connection within 2x of Node's, and no growth over the idle period."""

import asyncio
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.kit.embedded import free_port
from tests.bench import report
from tests.bench.stack import (
    Child,
    Stack,
    children,
    cpu_seconds,
    descendants,
    embedded_stack,
    machine_busy_seconds,
    start_web,
)
from tests.bench.world import World, build_world

CLIENTS = 2_000
BIG_ROOM = 10_000
#: Clients per swarm process: about what one Node process absorbs at the betting level here.
SWARM_SIZE = 2_000
DRIVERS = 20  # signed-in users placing the bets and sending the chat messages
POOLS = 2
CPU_RATIO_TARGET = 1.0
JOIN_RATIO_TARGET = 0.5
P99_TARGET_MS = 250.0
MEMORY_RATIO_TARGET = 2.0
#: Growth of the server's RSS over the idle period that still counts as none: allocator noise.
GROWTH_TOLERANCE = 0.05
#: How long the idle connections are held (FANOUT_IDLE_SECONDS; the target is 10 minutes).
IDLE_SECONDS = int(os.environ.get("FANOUT_IDLE_SECONDS", "600"))
IDLE_SAMPLES = 10


@dataclass(frozen=True)
class Level:
    name: str
    bet_rate: int  # bets a second, spread over the pools
    chat_rate: int  # stamped chat messages a second
    seconds: int
    clients: int = CLIENTS


#: The CPU, latency and ack targets are judged at "betting"; "chat only" shows the cost of
#: broadcasts alone; the last level has five times the clients (more swarm processes) and
#: about the betting level's deliveries a second, from chat alone.
LEVELS = (
    Level("chat only", 0, 2, 12),
    Level("betting", 50, 4, 25),
    Level(f"{BIG_ROOM:,} clients", 0, 2, 15, clients=BIG_ROOM),
)
BETTING, BIG = LEVELS[1], LEVELS[2]
#: Before the levels, untimed: first statements prepared, first scripts loaded, on both servers.
WARM_UP = Level("warm-up", 20, 2, 3)
#: Seconds a swarm or the reference may live: the levels, or the idle period, and some margin.
LIFETIME = 600 + IDLE_SECONDS

EXPLANATION = f"""
{CLIENTS:,} anonymous clients (socket.io-client, WebSocket transport, in one Node process)
join one channel's room. {DRIVERS} signed-in clients (a second Node process, also in the room)
send stamped chat messages and place bets on {POOLS} open pools, after an untimed warm-up, at
three levels: "chat only", 2 messages a second and no bets; "betting", 4 messages and 50 bets a
second (25 a pool), each pool's `pool:updated` going out at its coalesced pace (at most 4 a
second): some 10 broadcasts, 20,000 deliveries, a second; then "{BIG.name}": more swarm
processes ({SWARM_SIZE:,} clients each) bring the room to {BIG_ROOM:,}, and 2 chat messages a
second make about the betting level's deliveries a second.

Every broadcast reaching a swarm client is a delivery. Latency is measured on the chat
messages, broadcast one for one: each carries the moment its sender emitted it, and its
latency is the time until the last client of the room got it. CPU is the server process's
user+system time (/proc) over the run; for ours, Redis's share (every emit crosses Redis
pub/sub) is shown apart. An ack timeout is a bet or chat message the drivers got no answer to
within 10 s.

Then memory: each server freshly started, {BIG_ROOM:,} clients connect to each at the same time
(connected, not joining the channel: the reference answers a join with a canned empty snapshot,
ours with the channel's real one, whose transient copies would be part of ours alone) and stay
idle (engine.io pings only) for the idle period; the server's resident memory (VmRSS, all of
its web processes) is read before they connect, once they have, and through the
idle period. Memory per connection is the rise over the {BIG_ROOM:,}; growth is the last
reading's excess over the first after connecting.

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
    def ack_timeouts(self) -> int:
        return self.refused.get("ack_timeout", 0)

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


class Swarm:
    """The room's anonymous clients: Node swarm processes of up to SWARM_SIZE clients each,
    started as the room grows, measured together (per stamped message, the last recipient
    of them all)."""

    def __init__(self, url: str, channel_id: int, started: list[Child], join: bool = True) -> None:
        self.url = url
        self.channel_id = channel_id
        self.join = join
        self.started = started
        self.processes: list[Child] = []
        self.clients = 0
        self.connected = 0

    async def grow(self, clients: int) -> dict[str, Any]:
        """Swarm processes (started together) until ``clients`` have joined; the first
        batch's connect-and-join figures."""
        sizes: list[int] = []
        while self.clients + sum(sizes) < clients:
            sizes.append(min(SWARM_SIZE, clients - self.clients - sum(sizes)))
        added = []
        for size in sizes:
            process = await Child.node(
                "swarm.mjs",
                {
                    "url": self.url,
                    "clients": size,
                    "channel": self.channel_id,
                    "join": self.join,
                    "connectConcurrency": 50,
                    "deadlineSeconds": LIFETIME,
                },
            )
            self.started.append(process)
            added.append(process)
        readies = [await process.expect("ready", within=300) for process in added]
        for ready in readies:
            if ready["failed"]:
                print(f"  {ready['failed']} swarm clients failed to join: {ready['failures']}")
        self.processes += added
        self.clients = clients
        self.connected += sum(ready["connected"] for ready in readies)
        return readies[0] if readies else {}

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    async def start(self) -> None:
        for process in self.processes:
            await process.send("start")
        for process in self.processes:
            await process.expect("started", within=10)

    async def stop(self, expected: int) -> dict[str, Any]:
        for process in self.processes:
            await process.send(f"stop {expected}")
        results = [await process.expect("result", within=30) for process in self.processes]
        first = results[0]
        complete = [r["stamped"]["complete"] for r in results]
        latencies = [
            max(c[seq][1] for c in complete) - complete[0][seq][0]
            for seq in complete[0]
            if all(seq in c for c in complete)
        ]
        return {
            "members": sum(r["members"] for r in results),
            "deliveries": sum(r["deliveries"] for r in results),
            "startedAt": min(r["startedAt"] for r in results),
            "lastDeliveryAt": max(r["lastDeliveryAt"] for r in results),
            "disconnects": sum(r["disconnects"] for r in results),
            "events": first["events"],
            "samples": first["samples"],
            "latencies": latencies,
        }


async def load(url: str, server_pid: int, world: World, redis_pid: int | None) -> list[Run]:
    """Swarm in, drivers in, then each level in turn against one server."""
    async with children() as started:
        swarm = Swarm(url, world.channel_id, started)
        ready = await swarm.grow(CLIENTS)
        join_rate = ready["connected"] / ready["joinSeconds"]
        drivers = await Child.node(
            "bettors.mjs",
            {
                "url": url,
                "channel": world.channel_id,
                "join": True,
                "bettors": world.bettors_config(),
                "pools": world.pools_config(),
                "deadlineSeconds": LIFETIME,
            },
        )
        started.append(drivers)
        await drivers.expect("ready", within=60)
        await drivers.send(f"run {phase(WARM_UP)}")
        await drivers.expect("result", within=WARM_UP.seconds + 30)
        await asyncio.sleep(1)  # the warm-up's last coalesced updates go out untimed
        runs = []
        for level in LEVELS:
            try:
                await swarm.grow(level.clients)
                runs.append(await run_level(level, swarm, drivers, server_pid, redis_pid))
            except Exception as error:
                runs.append(Run(level, error=f"{type(error).__name__}: {error}"))
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
    level: Level, swarm: Swarm, drivers: Child, server_pid: int, redis_pid: int | None
) -> Run:
    run = Run(level)
    cpu_before = cpu_seconds(server_pid)
    redis_before = cpu_seconds(redis_pid) if redis_pid else 0.0
    swarm_before = sum(cpu_seconds(pid) for pid in swarm.pids)
    machine_before = machine_busy_seconds()
    await swarm.start()
    await drivers.send(f"run {phase(level)}")
    driven = await drivers.expect("result", within=level.seconds + 30)
    result = await swarm.stop(driven["chat"]["ok"])
    run.cpu = cpu_seconds(server_pid) - cpu_before
    if redis_pid:
        run.redis_cpu = cpu_seconds(redis_pid) - redis_before
    # Deliveries are counted until the last one came, grace period included.
    delivering = (result["lastDeliveryAt"] - result["startedAt"]) / 1000
    run.seconds = delivering if delivering > 0 else level.seconds
    run.swarm_cpu_share = (sum(cpu_seconds(pid) for pid in swarm.pids) - swarm_before) / run.seconds
    run.machine_cores_busy = (machine_busy_seconds() - machine_before) / run.seconds
    run.members = result["members"]
    run.deliveries = result["deliveries"]
    run.latencies = result["latencies"]
    run.chats_acked = driven["chat"]["ok"]
    run.bets_acked = driven["ok"]
    run.refused = {**driven["errors"]}
    for code, count in driven["chat"]["errors"].items():
        run.refused[code] = run.refused.get(code, 0) + count
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
    betting = ours[LEVELS.index(BETTING)]
    sample = betting.samples.get("pool:updated") or _synthetic_update(world)
    config = {
        "port": free_port(),
        "channel": world.channel_id,
        "poolIds": [pool_id for pool_id, _ in world.pools],
        "poolUpdated": {
            "perSecond": betting.rate_of("pool:updated") if not betting.error else 4.0 * POOLS,
            "payload": sample,
        },
        "deadlineSeconds": LIFETIME,
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
    report.header(
        f"Fan-out: {CLIENTS:,}, then {BIG_ROOM:,}, clients in one channel room", EXPLANATION
    )
    for mine, theirs in zip(ours, node, strict=True):
        print_level(mine, theirs)
    index = LEVELS.index(BETTING)
    betting, reference = ours[index], node[index]
    big, big_reference = ours[LEVELS.index(BIG)], node[LEVELS.index(BIG)]
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
        f"CPU per delivery at most {CPU_RATIO_TARGET:g}x Node's (betting)",
        ratio <= CPU_RATIO_TARGET,
        f"{betting.cpu_per_thousand:.4f} s per 1,000 vs Node "
        f"{reference.cpu_per_thousand:.4f} s ({ratio:.2f}x)",
    )
    p99, node_p99 = betting.percentile(0.99), reference.percentile(0.99)
    report.verdict(
        "last-recipient p99 at most Node's (betting)",
        p99 <= node_p99 and betting.fully_delivered,
        f"{p99:,.1f} ms vs Node {node_p99:,.1f} ms{incomplete(betting)}",
    )
    report.verdict(
        "no ack timeouts (betting)",
        betting.ack_timeouts == 0 and not betting.error,
        f"{betting.ack_timeouts:,} vs Node {reference.ack_timeouts:,}",
    )
    big_p99 = big.percentile(0.99)
    report.verdict(
        f"last-recipient p99 under {P99_TARGET_MS:g} ms with {BIG_ROOM:,} clients",
        big_p99 < P99_TARGET_MS and big.fully_delivered,
        f"{big_p99:,.1f} ms{incomplete(big)} vs Node {big_reference.percentile(0.99):,.1f} ms",
    )
    join_ratio = betting.join_rate / reference.join_rate
    report.verdict(
        f"connect-and-join rate at least {JOIN_RATIO_TARGET:g}x Node's",
        join_ratio >= JOIN_RATIO_TARGET,
        f"{join_ratio:.2f}x",
    )


def incomplete(run: Run) -> str:
    return "" if run.fully_delivered else " (not every message reached every client)"


@dataclass
class Idle:
    """One server holding idle connections: its resident memory over time."""

    error: str | None = None
    connected: int = 0
    before_mb: float = math.nan
    #: (seconds since the clients connected, RSS in MB), the first right after they did.
    readings: list[tuple[float, float]] = field(default_factory=list)

    @property
    def connected_mb(self) -> float:
        return self.readings[0][1] if self.readings else math.nan

    @property
    def last_mb(self) -> float:
        return self.readings[-1][1] if self.readings else math.nan

    @property
    def per_connection_kb(self) -> float:
        if not self.connected:
            return math.nan
        return (self.connected_mb - self.before_mb) * 1024 / self.connected

    @property
    def growth_mb(self) -> float:
        return self.last_mb - self.connected_mb

    @property
    def growth_share(self) -> float:
        return self.growth_mb / (self.connected_mb - self.before_mb)


def rss_mb(pid: int) -> float:
    """The resident memory (VmRSS, Linux /proc) of the process and its live descendants (every
    web process under the supervisor), in MB."""
    total_kb = 0
    for member in [pid, *descendants(pid)]:
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except FileNotFoundError:
            continue  # ended meanwhile
        total_kb += next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
        )
    return total_kb / 1024


async def measure_idle(stack: Stack, world: World) -> tuple[Idle, Idle]:
    """Both servers, fresh, hold BIG_ROOM idle connections each at the same time (halving
    the wall time; each swarm runs in processes of its own)."""
    ours, node = Idle(), Idle()
    try:
        async with children() as started:
            web, url = await start_web(stack, {})
            started.append(web)
            reference = await Child.node(
                "reference_server.mjs",
                {
                    "port": free_port(),
                    "channel": world.channel_id,
                    "poolIds": [],
                    "deadlineSeconds": LIFETIME,
                },
            )
            started.append(reference)
            listening = await reference.expect("listening", within=20)
            node_url = f"http://127.0.0.1:{listening['port']}"
            await asyncio.sleep(2)
            servers = ((ours, web.pid, url), (node, reference.pid, node_url))
            for idle, pid, _ in servers:
                idle.before_mb = rss_mb(pid)
            swarms = [
                Swarm(address, world.channel_id, started, join=False) for _, _, address in servers
            ]
            await asyncio.gather(*(swarm.grow(BIG_ROOM) for swarm in swarms))
            for (idle, _, _), swarm in zip(servers, swarms, strict=True):
                idle.connected = swarm.connected
            await asyncio.sleep(5)  # the joins' answers written, the last tasks ended
            step = IDLE_SECONDS / IDLE_SAMPLES
            for sample in range(IDLE_SAMPLES + 1):
                for idle, pid, _ in servers:
                    idle.readings.append((sample * step, rss_mb(pid)))
                if sample < IDLE_SAMPLES:
                    await asyncio.sleep(step)
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        for idle in (ours, node):
            idle.error = idle.error or message
    return ours, node


def print_idle(ours: Idle, node: Idle) -> None:
    minutes = IDLE_SECONDS / 60
    setting = "the target's 10 minutes" if IDLE_SECONDS == 600 else "the target is 10 minutes"
    print(
        f"\n  idle connections: {BIG_ROOM:,} to each server at once, held {IDLE_SECONDS} s "
        f"({minutes:g} min; FANOUT_IDLE_SECONDS sets it, {setting})"
    )
    for idle, name in ((ours, "ours"), (node, "node")):
        if idle.error:
            print(f"  {name}: the run failed: {idle.error}")
    report.columns("ours (Python)", "reference (Node)")
    report.row("clients connected (not joining)", f"{ours.connected:,}", f"{node.connected:,}")
    report.row(
        "server RSS before they connected", f"{ours.before_mb:,.1f} MB", f"{node.before_mb:,.1f} MB"
    )
    for at in range(len(ours.readings)):
        seconds = ours.readings[at][0]
        theirs = node.readings[at][1] if at < len(node.readings) else math.nan
        label = "server RSS, all connected" if at == 0 else f"  after {seconds:,.0f} s idle"
        report.row(label, f"{ours.readings[at][1]:,.1f} MB", f"{theirs:,.1f} MB")
    report.row(
        "memory per idle connection",
        f"{ours.per_connection_kb:,.1f} KB",
        f"{node.per_connection_kb:,.1f} KB",
    )
    report.row(
        "growth over the idle period",
        f"{ours.growth_mb:+,.1f} MB ({ours.growth_share:+.1%})",
        f"{node.growth_mb:+,.1f} MB ({node.growth_share:+.1%})",
    )
    print()
    ratio = ours.per_connection_kb / node.per_connection_kb
    report.verdict(
        f"memory per idle connection at most {MEMORY_RATIO_TARGET:g}x Node's at {BIG_ROOM:,}",
        ratio <= MEMORY_RATIO_TARGET and ours.connected == BIG_ROOM,
        f"{ours.per_connection_kb:,.1f} KB vs Node {node.per_connection_kb:,.1f} KB ({ratio:.2f}x)",
    )
    report.verdict(
        f"no growth over {IDLE_SECONDS} s idle (within {GROWTH_TOLERANCE:.0%} of the "
        "connections' memory)",
        ours.growth_share <= GROWTH_TOLERANCE,
        f"{ours.growth_mb:+,.1f} MB ({ours.growth_share:+.1%}) vs Node {node.growth_mb:+,.1f} MB "
        f"({node.growth_share:+.1%})",
    )


async def bench(stack: Stack) -> None:
    world = await build_world(stack, pools=POOLS, bettors=DRIVERS, funds=10_000_000)
    ours = await measure_ours(stack, world)
    node = await measure_reference(world, ours)
    print_report(ours, node)
    idle = await measure_idle(stack, world)
    print_idle(*idle)


def main() -> None:
    print(
        f"fan-out: {CLIENTS:,} then {BIG_ROOM:,} clients in one room, our server then Node's; "
        f"then {BIG_ROOM:,} idle connections to both for {IDLE_SECONDS} s ..."
    )
    with embedded_stack("bench_fanout") as stack:
        asyncio.run(bench(stack))
