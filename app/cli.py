"""The ``streampools`` command: run the whole platform locally, migrate, seed, check the ledger."""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from app.kit.embedded import EmbeddedPostgres, EmbeddedRedis
from app.kit.migrate import PROJECT_ROOT, upgrade
from app.settings import WILDCARD_HOSTS, Settings

DATABASE_NAME = "streampools"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="streampools", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run",
        help="start PostgreSQL and Redis (embedded unless "
        "DATABASE_URL/REDIS_URL are set), migrate, seed, run web, worker and integrations",
    )
    web = commands.add_parser(
        "web", help="serve HTTP and Socket.IO (the web process) against DATABASE_URL/REDIS_URL"
    )
    web.add_argument("--host", help="default: STREAMPOOLS_HOST")
    web.add_argument("--port", type=int, help="default: STREAMPOOLS_PORT")
    web.add_argument(
        "--processes",
        type=int,
        help="web processes sharing the port (default: STREAMPOOLS_WEB_PROCESSES, one per core)",
    )
    # One process of `web`'s group, started by its supervisor (not for use by hand).
    process = commands.add_parser("web-process")
    process.add_argument("--host", required=True)
    process.add_argument("--port", type=int, required=True)
    process.add_argument("--index", type=int, required=True)
    process.add_argument("--processes", type=int, required=True)
    process.add_argument("--fd", type=int, required=True)
    process.add_argument("--socket-dir", type=Path, required=True)
    process.add_argument("--parent", type=int, required=True)
    commands.add_parser(
        "integrations",
        help="run the stream platforms' long-lived tasks (YouTube chat pollers, Twitch's "
        "EventSub WebSocket listener) against DATABASE_URL/REDIS_URL; replicas share them",
    )
    commands.add_parser("migrate", help="apply the database migrations to DATABASE_URL")
    commands.add_parser("seed", help="create the demo accounts in DATABASE_URL")
    role = commands.add_parser(
        "role",
        help="give an account a platform role (user or admin); its open sessions and sockets "
        "pick it up at once",
    )
    role.add_argument("email")
    role.add_argument("role", choices=["user", "admin"])
    ledger = commands.add_parser("ledger", help="ledger tools")
    ledger_commands = ledger.add_subparsers(dest="ledger_command", required=True)
    ledger_commands.add_parser(
        "check", help="verify every ledger invariant; exit 1 naming each violation"
    )
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "run":
        return LocalPlatform(settings).run()
    if args.command == "web":
        return _web(settings, args.host, args.port, args.processes)
    if args.command == "web-process":
        return _web_process(settings, args)
    if args.command == "integrations":
        return _integrations()
    settings = _settings_with_local_defaults(settings)
    if args.command == "migrate":
        upgrade(settings.database_url)
        return 0
    if args.command == "ledger":
        return asyncio.run(_check_ledger(settings))
    if args.command == "role":
        return asyncio.run(_set_role(settings, args.email, args.role))
    if args.command == "seed":
        _print_demo(asyncio.run(_seed(settings)), settings, pages=True)
        return 0
    return 2


async def _seed(settings: Settings) -> list[tuple[str, str]]:
    from app.demo.service import demo_service
    from app.kit.resources import open_resources
    from app.kit.uow import unit_of_work

    resources = await open_resources(settings)
    try:
        async with unit_of_work(resources) as session:
            accounts = await demo_service.seed(session, resources)
    finally:
        await resources.close()
    return [(a.email, a.password) for a in accounts]


async def _set_role(settings: Settings, email: str, role: str) -> int:
    from app.auth.service import auth_service
    from app.kit.errors import AppError
    from app.kit.resources import open_resources
    from app.kit.uow import unit_of_work
    from app.models.user import Role

    resources = await open_resources(settings)
    try:
        async with unit_of_work(resources) as session:
            user = await auth_service.change_role_by_email(session, resources, email, Role(role))
    except AppError as error:
        print(f"{email}: {error.detail}", file=sys.stderr)
        return 1
    finally:
        await resources.close()
    print(f"{user.email} is now {user.role}")
    return 0


async def _check_ledger(settings: Settings) -> int:
    from app.kit.resources import open_resources
    from app.kit.uow import read_session
    from app.ledger.service import ledger_service

    resources = await open_resources(settings)
    try:
        async with read_session(resources) as session:
            violations = await ledger_service.check(session)
    finally:
        await resources.close()
    for violation in violations:
        print(f"VIOLATION: {violation}")
    print(
        "ledger check: "
        + (f"{len(violations)} violation(s)" if violations else "all invariants hold")
    )
    return 1 if violations else 0


def _settings_with_local_defaults(settings: Settings) -> Settings:
    """Without DATABASE_URL/REDIS_URL, talk to the servers `make run` starts (if running)."""
    updates: dict[str, str] = {}
    if not settings.database_url:
        updates["database_url"] = (
            f"postgresql+asyncpg://postgres@127.0.0.1:{settings.embedded_postgres_port}/"
            f"{DATABASE_NAME}"
        )
    if not settings.redis_url:
        updates["redis_url"] = f"redis://127.0.0.1:{settings.embedded_redis_port}/0"
    return settings.model_copy(update=updates)


def _demo_pages(settings: Settings) -> str:
    """The demo's pages, one per line: the viewer page, the dashboard and the overlay."""
    from app.demo.service import DEMO_CHANNEL, demo_service

    base = settings.public_url
    lines = [f"  Viewer     {base}/c/{DEMO_CHANNEL}", f"  Dashboard  {base}/dashboard"]
    if (overlay := demo_service.overlay_url(settings)) is not None:
        lines.append(f"  Overlay    {overlay}   (an OBS browser source; read-only key)")
    return "\n".join(lines) + "\n"


def _print_demo(accounts: list[tuple[str, str]], settings: Settings, *, pages: bool) -> None:
    if pages:
        print(_demo_pages(settings), end="")
    print("Demo accounts (email / password):")
    for email, password in accounts:
        print(f"  {email} / {password}")
    print(
        "Watch and bet from a terminal too:\n"
        "  node tests/js/viewer.mjs viewer@demo.streampools.dev demo-viewer-pass"
        f" --url {settings.public_url}"
    )


def web_command(host: str, port: int, processes: int | None = None) -> list[str]:
    """How the web process is started (by `make run`, the tests' multi-process runs and the
    benchmarks; the Dockerfile and compose.yaml spell the same); ``processes``: how many
    share the port (default: the setting, one per core)."""
    command = [sys.executable, "-m", "app.cli", "web", "--host", host, "--port", str(port)]
    if processes is not None:
        command += ["--processes", str(processes)]
    return command


def integrations_command() -> list[str]:
    """How the integrations worker is started (by `make run`, the tests and the benchmarks;
    compose.yaml spells the same)."""
    return [sys.executable, "-m", "app.cli", "integrations"]


def worker_command() -> list[str]:
    """How the arq worker is started (by `make run`; compose.yaml spells the same)."""
    return [str(Path(sys.executable).parent / "arq"), "workers.settings.WorkerSettings"]


def _integrations() -> int:
    """The integrations worker (``workers.integrations``): this command line is, with
    ``app.asgi``, a composition root, the one place of ``app`` that starts a process of
    ``workers`` (DESIGN.md §3)."""
    from workers.integrations import main

    return main()


def _web(settings: Settings, host: str | None, port: int | None, processes: int | None) -> int:
    """One process serving the port (as uvicorn alone), or a supervisor of several: it binds
    the port once and runs one web process per slot on it (app.kit.supervisor)."""
    processes = processes or settings.web_processes
    if processes < 1:
        print("--processes: at least 1", file=sys.stderr)
        return 2
    config = uvicorn_config(settings, host=host, port=port)
    if processes == 1:
        uvicorn.Server(config).run()
        return 0
    from app.kit.logging import configure_logging
    from app.kit.supervisor import WebSupervisor

    configure_logging(settings.log_level, settings.json_logs)
    sock = config.bind_socket()  # logs "Uvicorn running on ..."
    parent = os.getpid()

    def command(index: int, fd: int, socket_dir: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "app.cli",
            "web-process",
            "--host",
            config.host,
            "--port",
            str(config.port),
            "--index",
            str(index),
            "--processes",
            str(processes),
            "--fd",
            str(fd),
            "--socket-dir",
            str(socket_dir),
            "--parent",
            str(parent),
        ]

    # Each process ends its connections within 5 s (below); `make run` waits 15 s for all.
    return WebSupervisor(sock, processes, command, stop_timeout=10).run()


def _web_process(settings: Settings, args: argparse.Namespace) -> int:
    """Process ``--index`` of a group: serves the public socket it inherited and its private
    one, with the app that passes other processes' engine.io sessions on to them."""
    import functools
    import socket

    from app.asgi import create_process_app
    from app.kit.supervisor import ProcessSlot, private_socket

    slot = ProcessSlot(args.index, args.processes, args.socket_dir)
    public = socket.socket(fileno=args.fd)
    private = private_socket(slot)
    config = uvicorn_config(
        settings,
        functools.partial(create_process_app, settings, slot),
        host=args.host,
        port=args.port,
        factory=True,
    )
    # A long poll in flight would hold the shutdown until the server's next ping: cut after
    # a few seconds (its client reconnects), well within the supervisor's wait.
    config.timeout_graceful_shutdown = 5
    server = _GroupServer(config)
    server.parent = args.parent
    server.run(sockets=[public, private])
    return 0


class _GroupServer(uvicorn.Server):
    """uvicorn's server, which stops once its supervisor (pid ``parent``) is gone."""

    parent = 0

    async def on_tick(self, counter: int) -> bool:
        from app.kit.supervisor import parent_gone

        if counter % 10 == 0 and parent_gone(self.parent):
            self.should_exit = True
        return await super().on_tick(counter)


def uvicorn_config(
    settings: Settings,
    app: Any = "app.asgi:create_app",
    *,
    host: str | None = None,
    port: int | None = None,
    factory: bool | None = None,
) -> uvicorn.Config:
    """How uvicorn serves the web process: ``app`` is the ASGI app or the import path of its
    factory (which reads the settings from the environment), or with ``factory`` a callable
    that makes it."""
    return uvicorn.Config(
        app,
        factory=isinstance(app, str) if factory is None else factory,
        host=host or settings.host,
        port=port or settings.port,
        # The client's address (what rate limits count) is X-Forwarded-For's only when the
        # peer is one of our proxies; anyone else could write any address there.
        proxy_headers=True,
        forwarded_allow_ips=list(settings.trusted_proxies),
        access_log=False,
        # The app configures logging itself (app.kit.logging, uvicorn's loggers included).
        log_config=None,
        log_level=settings.log_level.lower(),
        loop=settings.web_loop,
        http=settings.web_http,
        # The sans-I/O WebSocket protocol is the cheapest per frame; compressing each
        # Socket.IO frame costs more CPU than the bytes it saves.
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        # Engine.IO pings every connection itself (and ends one that stops answering):
        # uvicorn's own WebSocket pings would only double that work.
        ws_ping_interval=None,
    )


class LocalPlatform:
    """``make run``: embedded servers when no URLs are given, then the web, worker and
    integrations processes.
    Ctrl-C (or SIGTERM) stops the children, then the embedded servers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = (PROJECT_ROOT / settings.data_dir).resolve()
        self.postgres: EmbeddedPostgres | None = None
        self.redis: EmbeddedRedis | None = None
        self.children: list[subprocess.Popen[bytes]] = []
        self.stopping = False

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            env = self._start_servers()
            print("Applying migrations...", flush=True)
            upgrade(env["DATABASE_URL"])
            accounts = (
                asyncio.run(
                    _seed(Settings(database_url=env["DATABASE_URL"], redis_url=env["REDIS_URL"]))
                )
                if self.settings.demo_enabled
                else []
            )
            self._start_children(env)
            self._announce(accounts)
            return self._wait()
        except KeyboardInterrupt:
            return 0
        finally:
            self._stop()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    def _start_servers(self) -> dict[str, str]:
        env = dict(os.environ)
        database_url = self.settings.database_url
        redis_url = self.settings.redis_url
        if not database_url:
            print(
                f"Starting embedded PostgreSQL (data in {self.data_dir / 'postgres'})...",
                flush=True,
            )
            self.postgres = EmbeddedPostgres(
                self.data_dir / "postgres", self.settings.embedded_postgres_port
            ).start()
            self.postgres.create_database(DATABASE_NAME)
            database_url = self.postgres.url(DATABASE_NAME)
        if not redis_url:
            print(f"Starting embedded Redis (data in {self.data_dir / 'redis'})...", flush=True)
            self.redis = EmbeddedRedis(
                self.data_dir / "redis", self.settings.embedded_redis_port
            ).start()
            redis_url = self.redis.url
        env["DATABASE_URL"] = database_url
        env["REDIS_URL"] = redis_url
        return env

    def _start_children(self, env: dict[str, str]) -> None:
        web = web_command(self.settings.host, self.settings.port)
        for command in (web, worker_command(), integrations_command()):
            self.children.append(subprocess.Popen(command, env=env, cwd=PROJECT_ROOT))

    def _announce(self, accounts: list[tuple[str, str]]) -> None:
        host = self.settings.host
        local = f"http://{'127.0.0.1' if host in WILDCARD_HOSTS else host}:{self.settings.port}"
        deadline = time.monotonic() + 60
        processes = self.settings.web_processes
        while time.monotonic() < deadline and not _ready(local, processes):
            if any(child.poll() is not None for child in self.children):
                raise RuntimeError("a process exited during start-up; see the log above")
            time.sleep(0.25)
        base = self.settings.public_url
        first = f"{base}/c/demo" if accounts else f"{base}/dashboard"
        metrics = f"{base}/metrics" + (f"?process=0..{processes - 1}" if processes > 1 else "")
        print(
            f"\nstreampools is running: open {first}\n\n"
            + (_demo_pages(self.settings) if accounts else f"  Dashboard  {base}/dashboard\n")
            + f"  API        {base}/api/v1   (docs: {base}/schema)\n"
            f"  Socket.IO  {base}/socket.io/\n"
            f"  Health     {base}/healthz   {base}/readyz   {metrics}\n"
            f"  Web        {processes} process{'es' if processes > 1 else ''} on one port"
            " (STREAMPOOLS_WEB_PROCESSES), a worker (jobs, cron) and an integrations worker\n"
            "             (YouTube chat pollers, Twitch's EventSub WebSocket: its log says which)\n",
            flush=True,
        )
        if accounts:
            _print_demo(accounts, self.settings, pages=False)
        print("\nPress Ctrl-C to stop.", flush=True)

    def _wait(self) -> int:
        while True:
            for child in self.children:
                code = child.poll()
                if code is not None:
                    print(f"{child.args!r} exited with {code}; stopping.", file=sys.stderr)
                    return code or 1
            time.sleep(0.5)

    def _stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()
        print("Stopped.", flush=True)


def _ready(base_url: str, processes: int) -> bool:
    """Whether every web process answers ``/readyz`` (``?process=<i>``: process i's)."""
    import httpx

    queries = [""] if processes == 1 else [f"?process={i}" for i in range(processes)]
    try:
        return all(
            httpx.get(f"{base_url}/readyz{query}", timeout=1).status_code == 200
            for query in queries
        )
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    sys.exit(main())
