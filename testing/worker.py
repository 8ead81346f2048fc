"""Real Celery worker processes for tests: start, wait until ready, stop or kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class CeleryWorker:
    def __init__(
        self, env: dict[str, str], *, beat: bool = False, concurrency: int = 1, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.env = {**os.environ, **env}
        self.beat = beat
        self.concurrency = concurrency
        self.extra_args = extra_args
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.log = Path(tempfile.mkstemp(prefix="floniks-worker-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> CeleryWorker:
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "floniks",
            "worker",
            "-n",
            self.name,
            "--loglevel",
            "info",
            "--concurrency",
            str(self.concurrency),
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
        ]
        args += self.extra_args
        if self.beat:
            args += ["--beat", "--schedule", str(self.log.with_suffix(".beat"))]
        with open(self.log, "ab") as out:
            # A session of its own, so a kill reaches the pool children too.
            self.process = subprocess.Popen(
                args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log.read_text(errors="replace"):
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"Celery worker exited early:\n{self.output()}")
            time.sleep(0.2)
        raise TimeoutError(f"Celery worker not ready after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def children(self) -> list[int]:
        assert self.process is not None
        found = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout.split()
        return [int(pid) for pid in found]

    def kill(self) -> None:
        """SIGKILL the worker and its pool: a machine dying mid-step."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
