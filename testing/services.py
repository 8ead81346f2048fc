"""Throwaway PostgreSQL and Redis servers for the test suite and benchmarks.

Each server lives in its own temporary directory on a free loopback port. The
runner (`python -m testing.run -- pytest …`) starts both, exports their URLs
and the details tests need to stop and restart them (fault tests), runs the
command and tears everything down.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"Nothing listens on 127.0.0.1:{port} after {timeout}s")


def _pg_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        found = shutil.which("initdb")
        if not found:
            raise RuntimeError("PostgreSQL is not installed: run `make system-deps` (apt-get install postgresql).")
        return Path(found).resolve().parent
    return Path(candidates[-1]).parent


def _as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root; when we are root, run it as the `postgres` account."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("Running as root but there is no 'postgres' account to run PostgreSQL as.") from None
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class PostgresServer:
    datadir: Path
    port: int
    bindir: Path
    runas: list[str]
    user: str = "floniks"
    database: str = "floniks"

    @classmethod
    def create(cls) -> PostgresServer:
        root = Path(tempfile.mkdtemp(prefix="floniks-pg-"))
        runas = _as_postgres_user()
        if runas:
            shutil.chown(root, user="postgres")
        server = cls(root / "data", free_port(), _pg_bin(), runas)
        subprocess.run(
            [
                *runas,
                str(server.bindir / "initdb"),
                "-D",
                str(server.datadir),
                "-U",
                server.user,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        conf = server.datadir / "postgresql.conf"
        with open(conf, "a") as f:
            # Throwaway data: trade durability for speed; listen on loopback only.
            f.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {server.port}\nunix_socket_directories = '{root}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n"
            )
        return server

    @classmethod
    def from_env(cls) -> PostgresServer:
        return cls(
            Path(os.environ["FLONIKS_TEST_PGDATA"]),
            int(os.environ["FLONIKS_TEST_PGPORT"]),
            Path(os.environ["FLONIKS_TEST_PGBIN"]),
            _as_postgres_user(),
        )

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.runas, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w", "-t", "60", *args],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        self._ctl("-l", str(self.datadir.parent / "postgres.log"), "start")
        wait_for_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "stop")

    def create_database(self) -> None:
        subprocess.run(
            [str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, self.database],
            check=True,
        )

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.datadir.parent, ignore_errors=True)

    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.url,
            "FLONIKS_TEST_PGDATA": str(self.datadir),
            "FLONIKS_TEST_PGPORT": str(self.port),
            "FLONIKS_TEST_PGBIN": str(self.bindir),
        }


@dataclass
class RedisServer:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls) -> RedisServer:
        if not shutil.which("redis-server"):
            raise RuntimeError("redis-server is not installed: run `make system-deps` (apt-get install redis-server).")
        return cls(free_port(), Path(tempfile.mkdtemp(prefix="floniks-redis-")))

    @classmethod
    def from_env(cls) -> RedisServer:
        return cls(int(os.environ["FLONIKS_TEST_REDIS_PORT"]), Path(os.environ["FLONIKS_TEST_REDIS_DIR"]))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pidfile(self) -> Path:
        return self.workdir / "redis.pid"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--pidfile",
                str(self.pidfile),
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        """Stop the server whoever started it (a test may restart the runner's server)."""
        if self.pidfile.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(self.pidfile.read_text().strip()), signal.SIGTERM)
        if self.process is not None:
            self.process.wait(timeout=30)
            self.process = None
        deadline = time.monotonic() + 30
        while self.pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def env(self) -> dict[str, str]:
        return {
            "CELERY_BROKER_URL": self.url,
            "REDIS_URL": self.url,
            "FLONIKS_TEST_REDIS_PORT": str(self.port),
            "FLONIKS_TEST_REDIS_DIR": str(self.workdir),
        }
