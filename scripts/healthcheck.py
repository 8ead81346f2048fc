"""Container health checks without Django start-up cost: `python scripts/healthcheck.py web`.

web:  GET /healthz on this container's gunicorn with a Host header Django accepts (the first
      ALLOWED_HOSTS entry), so the check keeps working whatever domain the site is served on.
Exit status 0 means healthy."""

from __future__ import annotations

import argparse
import http.client
import os
import sys


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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("process", choices=["web"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--timeout", type=float, default=10.0, help="web: seconds to wait for /healthz")
    args = parser.parse_args(argv)
    return check_web(args.port, args.timeout)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
