"""`make run` (scripts/dev.py) starts a dead worker again, and still stops everything on request.

Real processes: scripts/dev.py's `run` supervises stand-ins for the web server and the
Celery worker (small Python programs), so the test needs neither a database nor a broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent

# Stands in for the worker: says it is ready as Celery does, notes its pid, then waits to be stopped.
FAKE_WORKER = """
import os, sys, time
with open(sys.argv[1], "a") as f:
    f.write(f"{os.getpid()}\\n")
print("[2026-11-30 00:00:00,000: INFO/MainProcess] celery@fake ready.", flush=True)
while True:
    time.sleep(1)
"""
# Stands in for the web server: notes its pid and waits (it never answers HTTP, so no banner is due).
FAKE_WEB = """
import os, sys, time
open(sys.argv[1], "w").write(str(os.getpid()))
while True:
    time.sleep(1)
"""
# Runs scripts/dev.py's supervisor on the stand-ins, with the first restart after a fraction of a second.
SUPERVISOR = """
import importlib.util, signal, sys
spec = importlib.util.spec_from_file_location("floniks_dev_script", sys.argv[1])
dev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dev)
dev.RESTART_BACKOFF_SECONDS = 0.2
signal.signal(signal.SIGTERM, dev._interrupt)
py = sys.executable
sys.exit(dev.run("http://127.0.0.1:9/", [py, sys.argv[2], sys.argv[3]], [py, sys.argv[4], sys.argv[5]]))
"""


def alive(pid: int) -> bool:
    """Running, not merely a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@dataclass
class Supervised:
    process: subprocess.Popen[bytes]
    output: Path
    worker_pids: Path
    web_pid: Path

    def workers(self) -> list[int]:
        if not self.worker_pids.exists():
            return []
        return [int(line) for line in self.worker_pids.read_text().split()]

    def said(self) -> str:
        return self.output.read_text(errors="replace")


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[Supervised]:
    for name, text in (("worker.py", FAKE_WORKER), ("web.py", FAKE_WEB), ("supervisor.py", SUPERVISOR)):
        (tmp_path / name).write_text(textwrap.dedent(text))
    output = tmp_path / "output.log"
    args = [
        sys.executable,
        str(tmp_path / "supervisor.py"),
        str(ROOT / "scripts" / "dev.py"),
        str(tmp_path / "web.py"),
        str(tmp_path / "web.pid"),
        str(tmp_path / "worker.py"),
        str(tmp_path / "worker.pids"),
    ]
    with open(output, "wb") as out:
        # A session of its own, so the clean-up below reaches whatever it started.
        process = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    s = Supervised(process, output, tmp_path / "worker.pids", tmp_path / "web.pid")
    try:
        wait_for(lambda: s.workers() and s.web_pid.exists() and "ready." in s.said(), 30, what="both started")
        yield s
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def test_a_killed_worker_is_started_again_and_ctrl_c_still_stops_everything(supervised: Supervised) -> None:
    first = supervised.workers()[0]
    os.kill(first, signal.SIGKILL)

    wait_for(lambda: len(supervised.workers()) >= 2, 30, what="the worker to be started again")
    second = supervised.workers()[-1]
    assert second != first and alive(second)
    wait_for(lambda: "was started again" in supervised.said(), 10, what="the restart to be reported")
    said = supervised.said()
    assert "the worker exited (code -9)" in said
    assert said.count("celery@fake ready.") == 2  # the new worker's log reaches the terminal too
    assert supervised.process.poll() is None

    os.kill(first := second, signal.SIGKILL)  # and again: the supervisor keeps doing it
    wait_for(lambda: len(supervised.workers()) >= 3, 30, what="the worker to be started a second time")
    third = supervised.workers()[-1]
    assert third != first and alive(third)

    supervised.process.send_signal(signal.SIGTERM)  # what Ctrl-C amounts to for the supervisor
    assert supervised.process.wait(30) == 0
    web = int(supervised.web_pid.read_text())
    assert not alive(web) and not alive(third)
    assert len(supervised.workers()) == 3  # nothing was started while stopping


def test_when_the_web_server_dies_everything_stops(supervised: Supervised) -> None:
    worker = supervised.workers()[0]
    os.kill(int(supervised.web_pid.read_text()), signal.SIGKILL)

    supervised.process.wait(30)
    assert not alive(worker)
    assert len(supervised.workers()) == 1
    assert "the web server exited" in supervised.said()
