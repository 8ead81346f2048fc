"""Start the web server and a Celery worker (listening to every queue, sweeping on its own thread) together.

Used by `make run`. Once the web server answers and the worker has said it is
ready, a banner with the URL and the demo logins is printed, so it is the last
thing on the screen rather than lost above the worker's start-up log.
Ctrl-C stops both. A worker that dies (the broker went away under it, a crash,
an out-of-memory kill) is started again after a short back-off, as a supervisor
would in production (docker compose's `restart: unless-stopped`); runs it left
half done are finished by the sweep. If the web server dies, everything stops.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
# What Celery's worker logs once it consumes: "celery@host ready."
WORKER_READY = re.compile(r"\bcelery@\S+ ready\.")
READY_TIMEOUT_SECONDS = 120
# After "ready" the worker may still be working through messages left by `load_demo`: wait until it has
# been quiet this long (at most SETTLE_MAX_SECONDS) so the banner is not buried at once.
QUIET_SECONDS = 1.5
SETTLE_MAX_SECONDS = 10
# A dead worker is started again after this many seconds, doubling per quick death up to the maximum,
# so a worker that cannot start (broker unreachable, broken settings) does not spin; a worker that
# stayed up for RESTART_RESET_SECONDS starts the count again.
RESTART_BACKOFF_SECONDS = 1.0
RESTART_BACKOFF_MAX_SECONDS = 30.0
RESTART_RESET_SECONDS = 60.0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so `finally` stops the children on SIGTERM too, not only on Ctrl-C


def var_dir() -> Path:
    """Where settings keep the embedded defaults' files (FLONIKS_VAR_DIR, else ./var)."""
    return Path(os.environ.get("FLONIKS_VAR_DIR") or ROOT / "var")


def shown(path: Path) -> Path:
    """A path as a user in the repository would type it: relative when it lies inside the repository."""
    try:
        return path.resolve().relative_to(ROOT)
    except ValueError:
        return path


def read_accounts(store: Path) -> dict[str, str]:
    """The demo logins `manage.py load_demo` keeps, one `username password` a line; {} when absent."""
    if not store.exists():
        return {}
    pairs = (line.split(" ", 1) for line in store.read_text().splitlines() if " " in line)
    return {user: password.strip() for user, password in pairs}


def banner(url: str, accounts: dict[str, str], store: Path, *, worker_ready: bool = True) -> str:
    """The text `make run` ends with: where to go, how to sign in, where the passwords are kept."""
    rule = "=" * 72
    lines = ["", rule, f"  Floniks is running at {url}", f"  API docs: {url}api/docs/    admin: {url}admin/", ""]
    if accounts:
        lines.append("  Demo accounts (username  password):")
        lines += [f"    {user:<9} {password}" for user, password in accounts.items()]
        lines.append(f"  The passwords are kept in {store}")
    else:
        lines.append(f"  No demo accounts found in {store}; run `make demo` to create them.")
    if not worker_ready:
        lines.append("  The worker has not said it is ready yet: runs wait in the queue until it is.")
    lines += ["", "  Ctrl-C stops the web server and the worker.", rule, ""]
    return "\n".join(lines)


def _answers(url: str) -> bool:
    """Whether the web server answers HTTP at all (a redirect or an error page counts)."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


class WorkerLog:
    """Copies the worker's log to our stdout, noting when it said it was ready and when it last spoke."""

    def __init__(self) -> None:
        self.ready_at: float | None = None
        self.last_line_at = time.monotonic()

    def relay(self, stream: IO[str]) -> None:
        for line in stream:
            sys.stdout.write(line)
            sys.stdout.flush()
            self.last_line_at = time.monotonic()
            if self.ready_at is None and WORKER_READY.search(line):
                self.ready_at = self.last_line_at

    def settled(self, now: float) -> bool:
        """Ready, and quiet for a moment (or ready long enough that waiting longer is pointless)."""
        if self.ready_at is None:
            return False
        return now - self.last_line_at >= QUIET_SECONDS or now - self.ready_at >= SETTLE_MAX_SECONDS


def say(text: str) -> None:
    """A line of our own among the children's output, marked so it is not taken for theirs."""
    print(f"[make run] {text}", flush=True)


def web_command(port: str) -> list[str]:
    return [PY, "manage.py", "runserver", f"127.0.0.1:{port}"]


def worker_command() -> list[str]:
    return [
        PY,
        "-m",
        "celery",
        "-A",
        "floniks",
        "worker",  # no -Q: it listens to every queue settings name; its own thread sweeps (no beat)
        "--loglevel",
        "info",
        "--concurrency",
        "2",
    ]


class Restarted:
    """One child process that is started again, after a back-off, whenever it dies."""

    def __init__(self, name: str, start: Callable[[], subprocess.Popen[Any]]) -> None:
        self.name = name
        self._start = start
        self.restarts = 0
        self._backoff = RESTART_BACKOFF_SECONDS
        self._due: float | None = None  # when a dead process is to be started again
        self.process = start()
        self.started_at = time.monotonic()

    def check(self, now: float) -> None:
        """Notice a death (say so, schedule the restart) or carry out a restart that is due."""
        if self._due is None:
            code = self.process.poll()
            if code is None:
                return
            if now - self.started_at >= RESTART_RESET_SECONDS:
                self._backoff = RESTART_BACKOFF_SECONDS
            say(f"the {self.name} exited (code {code}); starting it again in {self._backoff:g} s")
            self._due = now + self._backoff
            self._backoff = min(self._backoff * 2, RESTART_BACKOFF_MAX_SECONDS)
        elif now >= self._due:
            self._due = None
            self.process = self._start()
            self.started_at = now
            self.restarts += 1
            say(f"the {self.name} was started again (pid {self.process.pid}, restart {self.restarts})")


def run(url: str, web_cmd: list[str], worker_cmd: list[str]) -> int:
    """Start the web server and a worker; restart the worker when it dies; stop both on Ctrl-C or SIGTERM."""
    web = subprocess.Popen(web_cmd, cwd=ROOT)
    log = WorkerLog()

    def start_worker() -> subprocess.Popen[str]:
        process = subprocess.Popen(
            worker_cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        assert process.stdout is not None
        threading.Thread(target=log.relay, args=(process.stdout,), daemon=True).start()
        return process

    worker = Restarted("worker", start_worker)
    print(f"\nFloniks is starting on {url} … (the logins follow once the server and worker are up)\n", flush=True)
    try:
        started, web_up, announced = time.monotonic(), False, False
        while web.poll() is None:
            now = time.monotonic()
            worker.check(now)
            if not announced:
                web_up = web_up or _answers(url)
                now = time.monotonic()
                if web_up and (log.settled(now) or now - started > READY_TIMEOUT_SECONDS):
                    store = var_dir() / "demo-accounts.txt"
                    ready = log.ready_at is not None
                    print(banner(url, read_accounts(store), shown(store), worker_ready=ready), flush=True)
                    announced = True
            time.sleep(0.5)
        say(f"the web server exited (code {web.returncode}); stopping the worker")
    except KeyboardInterrupt:
        pass
    finally:
        procs: list[subprocess.Popen[Any]] = [web, worker.process]
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    # The web server's failure is ours; a stop asked for (Ctrl-C, SIGTERM) is a success.
    return web.returncode if web.returncode and web.returncode > 0 else 0


def make_signing_credentials() -> None:
    """The development C2PA CA and signer under var/c2pa, made on first start (kept afterwards):
    records are signed with them and /verify/ trusts their CA (docs/provenance.md)."""
    subprocess.run([PY, "manage.py", "make_signing_cert"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    make_signing_credentials()
    port = os.environ.get("PORT", "8000")
    return run(f"http://127.0.0.1:{port}/", web_command(port), worker_command())


if __name__ == "__main__":
    sys.exit(main())
