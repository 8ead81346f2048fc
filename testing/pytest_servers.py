"""A private PostgreSQL and Redis for each pytest-xdist worker.

`make test` runs the suite on both cores (`pytest -n 2`). Sharing one pair of servers between the
workers would not do: fault tests stop and restart Redis or PostgreSQL, tests flush the broker, and
real Celery workers started by one test would take tasks meant for another. So each xdist worker gets
servers of its own, started before Django reads its settings — this module is loaded with `-p` (see
`addopts` in pyproject.toml), and pytest imports such plugins before pytest-django sets Django up.
Without xdist (a targeted run) it does nothing: `testing.run` already provides the servers.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

from testing.services import PostgresServer, RedisServer


def _start_private_servers(worker: str) -> None:
    pg, redis = PostgresServer.create(), RedisServer.create()
    # Registered first so a server that fails to start is still removed.
    atexit.register(pg.destroy)
    atexit.register(redis.destroy)
    pg.start()
    pg.create_database()
    redis.start()
    os.environ.update(pg.env())
    os.environ.update(redis.env())
    # Files too: a worker's flush must not remove another worker's artifacts.
    base = os.environ.get("FLONIKS_VAR_DIR") or str(redis.workdir)
    os.environ["FLONIKS_VAR_DIR"] = str(Path(base) / worker)


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and os.environ.get("FLONIKS_TEST_PGPORT"):
    _start_private_servers(_worker)
