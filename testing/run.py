"""Run a command with its own PostgreSQL and Redis: `python -m testing.run -- pytest`."""

from __future__ import annotations

import os
import subprocess
import sys

from testing.services import PostgresServer, RedisServer

TEST_ENV = {
    # The suite runs with development conveniences (no TLS redirects, plain static
    # storage); the production profile is checked separately by `check --deploy`.
    "DEBUG": "1",
    "SECRET_KEY": "test-only-secret-key-not-used-anywhere-else-0123456789abcdef",
    "FLONIKS_VAR_DIR": "",
}


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print("usage: python -m testing.run -- COMMAND [ARGS…]", file=sys.stderr)
        return 2
    pg, redis = PostgresServer.create(), RedisServer.create()
    try:
        pg.start()
        pg.create_database()
        redis.start()
        env = {**os.environ, **TEST_ENV, **pg.env(), **redis.env()}
        if not env["FLONIKS_VAR_DIR"]:
            env["FLONIKS_VAR_DIR"] = str(redis.workdir / "var")
        print(f"testing.run: PostgreSQL on {pg.port}, Redis on {redis.port}", flush=True)
        return subprocess.call(argv, env=env)
    finally:
        redis.destroy()
        pg.destroy()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
