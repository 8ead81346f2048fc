"""Settings come from the environment and fail loudly on bad values; the
production profile passes Django's deployment checks."""

from __future__ import annotations

import json
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


# --- secrets from files (*_FILE) ------------------------------------------------------

SECRETS = ["SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"]


def test_env_secret_reads_the_file_named_by_name_file(tmp_path, monkeypatch):
    secret = tmp_path / "token"
    secret.write_text("s3cr3t-from-a-file\n")
    monkeypatch.delenv("X_TOKEN", raising=False)
    monkeypatch.setenv("X_TOKEN_FILE", str(secret))
    assert env.env_secret("X_TOKEN") == "s3cr3t-from-a-file"
    monkeypatch.delenv("X_TOKEN_FILE")
    monkeypatch.setenv("X_TOKEN", "from-the-environment")
    assert env.env_secret("X_TOKEN") == "from-the-environment"
    monkeypatch.delenv("X_TOKEN")
    assert env.env_secret("X_TOKEN", "fallback") == "fallback"
    with pytest.raises(ImproperlyConfigured, match="X_TOKEN is required"):
        env.env_secret("X_TOKEN")


@pytest.mark.parametrize(
    ("value", "file_content", "message"),
    [
        ("also-set", "in-a-file", "Set either X_TOKEN or X_TOKEN_FILE, not both"),
        (None, None, "cannot be read"),
        (None, "  \n", "is empty"),
    ],
)
def test_env_secret_refuses_an_ambiguous_missing_or_empty_secret(tmp_path, monkeypatch, value, file_content, message):
    path = tmp_path / "token"
    if file_content is not None:
        path.write_text(file_content)
    monkeypatch.setenv("X_TOKEN_FILE", str(path))
    if value is None:
        monkeypatch.delenv("X_TOKEN", raising=False)
    else:
        monkeypatch.setenv("X_TOKEN", value)
    with pytest.raises(ImproperlyConfigured, match=message):
        env.env_secret("X_TOKEN")


def test_a_blank_name_file_is_refused(monkeypatch):
    monkeypatch.setenv("X_TOKEN_FILE", " ")
    with pytest.raises(ImproperlyConfigured, match="X_TOKEN_FILE is empty"):
        env.env_secret("X_TOKEN")


def test_a_blank_list_is_an_empty_list(monkeypatch):
    monkeypatch.setenv("X_LIST", "")  # what compose writes for ${X_LIST:-}
    assert env.env_list("X_LIST", ["default"]) == []


def test_every_secret_setting_can_come_from_a_file(tmp_path):
    values = {
        "SECRET_KEY": "file-secret-" + "k9" * 25,
        "DATABASE_URL": "postgresql://floniks:pw-from-file@db.internal:5432/floniks",
        "CELERY_BROKER_URL": "redis://:broker-pw@redis.internal:6379/0",
        "CACHE_URL": "redis://:cache-pw@redis.internal:6379/1",
        "S3_ACCESS_KEY_ID": "AKIAFROMFILE",
        "S3_SECRET_ACCESS_KEY": "secret-access-key-from-file",
    }
    files = {}
    for name, value in values.items():
        (tmp_path / name).write_text(value + "\n")
        files[f"{name}_FILE"] = str(tmp_path / name)
    clean = {k: "" for k in SECRETS}  # blank means unset, as compose's ${NAME:-} writes it
    shown = manage(
        "shell",
        "-c",
        "import json; from django.conf import settings as s; o = s.STORAGES['artifacts']['OPTIONS'];"
        "d = s.DATABASES['default'];"
        "print(json.dumps([s.SECRET_KEY, d['PASSWORD'], d['HOST'], s.CELERY_BROKER_URL,"
        " s.CACHES['default']['LOCATION'], o['access_key'], o['secret_key']]))",
        **{**PRODUCTION, **clean, **files},
        S3_BUCKET="floniks-artifacts",
        FLONIKS_VAR_DIR=str(tmp_path / "var"),
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout.strip().splitlines()[-1]) == [
        values["SECRET_KEY"],
        "pw-from-file",
        "db.internal",
        values["CELERY_BROKER_URL"],
        values["CACHE_URL"],
        values["S3_ACCESS_KEY_ID"],
        values["S3_SECRET_ACCESS_KEY"],
    ]


@pytest.mark.parametrize("name", SECRETS)
def test_a_secret_given_twice_stops_start_up(tmp_path, name):
    (tmp_path / "secret").write_text("x")
    given = {
        **PRODUCTION,
        name: PRODUCTION.get(name, "redis://127.0.0.1:6379/1"),
        f"{name}_FILE": str(tmp_path / "secret"),
    }
    result = manage("check", **given, S3_BUCKET="b", FLONIKS_VAR_DIR=str(tmp_path / "var"))
    assert result.returncode != 0 and f"Set either {name} or {name}_FILE, not both" in result.stderr


# --- gunicorn ------------------------------------------------------------------------


def test_gunicorn_trusts_forwarded_headers_only_from_trusted_proxies(monkeypatch):
    config = str(Path(settings.BASE_DIR) / "gunicorn.conf.py")
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    loaded = runpy.run_path(config)
    assert loaded["forwarded_allow_ips"] == ""  # nobody by default, not gunicorn's 127.0.0.1
    assert loaded["accesslog"] == "-" and "x-forwarded-for" in loaded["access_log_format"]
    assert loaded["graceful_timeout"] < loaded["timeout"]
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7")
    assert runpy.run_path(config)["forwarded_allow_ips"] == "10.0.0.0/8,192.168.1.7/32"
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.5/24")  # read as Django's setting reads it: the network
    assert runpy.run_path(config)["forwarded_allow_ips"] == "10.0.0.0/24"
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8,the-proxy")
    with pytest.raises(ImproperlyConfigured, match="'the-proxy' is not an IP address or network"):
        runpy.run_path(config)
