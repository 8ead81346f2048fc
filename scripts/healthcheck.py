"""Container health checks without Django start-up cost: `python scripts/healthcheck.py web|beat`.

web:  GET /healthz on this container's gunicorn with a Host header Django accepts (the first
      ALLOWED_HOSTS entry), so the check keeps working whatever domain the site is served on.
beat: the beat schedule file was written recently (beat saves it every few minutes while it ticks).
Exit status 0 means healthy."""

from __future__ import annotations

import argparse
import glob
import http.client
import os
import sys
import time


def host_header(allowed_hosts: str) -> str:
    for item in allowed_hosts.split(","):
        host = item.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def check_web(port: int, timeout: float) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/healthz", headers={"Host": host_header(os.environ.get("ALLOWED_HOSTS", ""))})
        response = connection.getresponse()
        body = response.read(1000).decode(errors="replace")
    except OSError as error:
        print(f"web: {error}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if response.status != 200:
        print(f"web: /healthz answered {response.status} {body}", file=sys.stderr)
        return 1
    return 0


def check_beat(schedule: str, max_age: float) -> int:
    # The schedule is a shelve: one file or several with suffixes, depending on the dbm module available.
    written = [os.path.getmtime(path) for path in glob.glob(glob.escape(schedule) + "*")]
    if not written:
        print(f"beat: no schedule file at {schedule}", file=sys.stderr)
        return 1
    age = time.time() - max(written)
    if age > max_age:
        print(f"beat: schedule last written {age:.0f}s ago (limit {max_age:.0f}s)", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("process", choices=["web", "beat"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--timeout", type=float, default=10.0, help="web: seconds to wait for /healthz")
    parser.add_argument("--schedule", default="/tmp/celerybeat-schedule", help="beat: the --schedule file")
    # Beat saves its schedule every 3 minutes (celery's Scheduler.sync_every): allow three missed saves.
    parser.add_argument("--max-age", type=float, default=600.0, help="beat: seconds since the last save")
    args = parser.parse_args(argv)
    if args.process == "web":
        return check_web(args.port, args.timeout)
    return check_beat(args.schedule, args.max_age)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
