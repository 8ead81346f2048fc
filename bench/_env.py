"""Shared set-up for benchmarks: private PostgreSQL + Redis, a migrated database
and Django configured against them. Benchmarks print figures; they assert nothing."""

from __future__ import annotations

import atexit
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.services import PostgresServer, RedisServer  # noqa: E402


def start_services() -> dict[str, str]:
    """Start PostgreSQL and Redis, point Django at them, migrate. Returns the environment for workers."""
    pg, redis = PostgresServer.create(), RedisServer.create()
    pg.start()
    pg.create_database()
    redis.start()
    atexit.register(pg.destroy)
    atexit.register(redis.destroy)
    env = {
        **pg.env(),
        **redis.env(),
        # Workers run with DEBUG off in production (no query log, no debug cursor): so do benchmarks.
        "DEBUG": "0",
        # …which lists no allowed host of its own: the benchmarks' test clients ask for localhost.
        "ALLOWED_HOSTS": "localhost,testserver",
        "CACHE_URL": redis.url,
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghij",
        "FLONIKS_VAR_DIR": tempfile.mkdtemp(prefix="floniks-bench-"),
        "DJANGO_SETTINGS_MODULE": "floniks.settings",
        # Benchmarks start many runs as one user: they measure throughput, not the per-user quota.
        "FLONIKS_MAX_ACTIVE_RUNS_PER_USER": "100000",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def user(role: str):  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Group, User

    u, _ = User.objects.get_or_create(username=f"bench-{role}")
    u.groups.add(Group.objects.get(name=role))
    return u
