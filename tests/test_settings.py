"""Settings come from the environment and fail loudly on bad values; the
production profile passes Django's deployment checks."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from floniks import env

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-" + "x7Qp2" * 10,
    "ALLOWED_HOSTS": "floniks.example.com",
    "DATABASE_URL": "postgresql://floniks@127.0.0.1:5432/floniks",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}


def manage(*args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    dropped = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **overrides},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, FLONIKS_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_secret_key_in_production_fails_loudly(tmp_path):
    result = manage("check", **{**PRODUCTION, "SECRET_KEY": ""}, FLONIKS_VAR_DIR=str(tmp_path))
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "is not a boolean"),
        ("DB_CONN_MAX_AGE", "soon", "is not an integer"),
        ("DATABASE_URL", "mysql://x@y/z", "expected one of"),
        ("ALLOWED_HOSTS", "a,,b", "empty item"),
    ],
)
def test_bad_environment_values_stop_start_up(tmp_path, name, value, message):
    result = manage("check", **{**PRODUCTION, name: value}, FLONIKS_VAR_DIR=str(tmp_path))
    assert result.returncode != 0 and message in result.stderr


def test_helpers(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "-3")
    assert env.env_bool("X_BOOL", False) is True
    with pytest.raises(ImproperlyConfigured):
        env.env_int("X_INT", 1, minimum=0)
    assert env.env_list("X_MISSING", ["d"]) == ["d"]
    with pytest.raises(ImproperlyConfigured):
        env.env_str("X_MISSING")


def test_gunicorn_takes_its_workers_from_the_environment(monkeypatch):
    config = str(Path(settings.BASE_DIR) / "gunicorn.conf.py")
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert runpy.run_path(config)["workers"] == os.cpu_count()
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    assert runpy.run_path(config)["workers"] == 5
    monkeypatch.setenv("WEB_CONCURRENCY", "0")
    with pytest.raises(ImproperlyConfigured, match="WEB_CONCURRENCY=0 must be at least 1"):
        runpy.run_path(config)
