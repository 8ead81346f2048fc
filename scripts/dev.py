"""Start the web server and a Celery worker (with embedded beat) together.

Used by `make run`. Ctrl-C stops both; if either dies, the other is stopped too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so `finally` stops the children on SIGTERM too, not only on Ctrl-C


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    port = os.environ.get("PORT", "8000")
    procs = [
        subprocess.Popen([PY, "manage.py", "runserver", f"127.0.0.1:{port}"], cwd=ROOT),
        subprocess.Popen(
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
                str(ROOT / "var" / "celerybeat-schedule"),
            ],
            cwd=ROOT,
        ),
    ]
    print(
        f"\nFloniks is starting on http://127.0.0.1:{port}/  (API: /api/docs/, admin: /admin/). Ctrl-C stops it.\n",
        flush=True,
    )
    try:
        while all(p.poll() is None for p in procs):
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
