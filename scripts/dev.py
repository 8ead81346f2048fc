"""Start the web server and a Celery worker (with embedded beat) together.

Used by `make run`. Once the web server answers and the worker has said it is
ready, a banner with the URL and the demo logins is printed, so it is the last
thing on the screen rather than lost above the worker's start-up log.
Ctrl-C stops both; if either dies, the other is stopped too.
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


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    port = os.environ.get("PORT", "8000")
    url = f"http://127.0.0.1:{port}/"
    web = subprocess.Popen([PY, "manage.py", "runserver", f"127.0.0.1:{port}"], cwd=ROOT)
    worker = subprocess.Popen(
        [
            PY,
            "-m",
            "celery",
            "-A",
            "floniks",
            "worker",
            "--beat",
            "--loglevel",
            "info",
            "--concurrency",
            "2",
            "--schedule",
            str(var_dir() / "celerybeat-schedule"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    procs: list[subprocess.Popen[Any]] = [web, worker]
    log = WorkerLog()
    assert worker.stdout is not None
    threading.Thread(target=log.relay, args=(worker.stdout,), daemon=True).start()
    print(f"\nFloniks is starting on {url} … (the logins follow once the server and worker are up)\n", flush=True)
    try:
        started, web_up, announced = time.monotonic(), False, False
        while all(p.poll() is None for p in procs):
            if not announced:
                web_up = web_up or _answers(url)
                now = time.monotonic()
                if web_up and (log.settled(now) or now - started > READY_TIMEOUT_SECONDS):
                    store = var_dir() / "demo-accounts.txt"
                    ready = log.ready_at is not None
                    print(banner(url, read_accounts(store), shown(store), worker_ready=ready), flush=True)
                    announced = True
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    return max((p.returncode or 0) for p in procs)


if __name__ == "__main__":
    sys.exit(main())
