"""/healthz tells a load balancer whether this web process can reach its database, broker and
storage: no sign-in, no HTTPS redirect, a 503 that names what is down, and never a hung probe."""

from __future__ import annotations

import threading

import pytest
from django.test import Client, override_settings

from floniks import health
from testing.services import free_port

pytestmark = pytest.mark.django_db

ALL_OK = {"database": "ok", "broker": "ok", "storage": "ok"}


def test_all_reachable_answers_200_to_anyone():
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == ALL_OK
    assert "no-cache" in response["Cache-Control"]


def test_head_works_and_writes_are_refused():
    assert Client().head("/healthz").status_code == 200
    assert Client().post("/healthz").status_code == 405


@override_settings(SECURE_SSL_REDIRECT=True)
def test_a_plain_http_probe_is_not_redirected_to_https():
    assert Client().get("/healthz").status_code == 200
    assert Client().get("/public/").status_code == 301  # everything else still goes to HTTPS


def test_an_unreachable_broker_is_named():
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0"):
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {**ALL_OK, "broker": "error"}


def test_an_unreachable_database_is_named(monkeypatch):
    from django.db import connections

    broken = {**connections.settings["default"], "PORT": str(free_port())}
    monkeypatch.setitem(connections.settings, "default", broken)
    response = Client().get("/healthz")
    assert response.status_code == 503 and response.json() == {**ALL_OK, "database": "error"}


def test_an_unreachable_s3_endpoint_is_named():
    s3 = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "nowhere",
            "endpoint_url": f"http://127.0.0.1:{free_port()}",
            "access_key": "k",
            "secret_key": "s",
            "region_name": "us-east-1",
        },
    }
    from django.conf import settings
    from django.core.files.storage import storages

    with override_settings(STORAGES={**settings.STORAGES, "artifacts": s3}):
        storages._storages.pop("artifacts", None)
        try:
            response = Client().get("/healthz")
        finally:
            storages._storages.pop("artifacts", None)
    assert response.status_code == 503 and response.json() == {**ALL_OK, "storage": "error"}


@override_settings(FLONIKS_HEALTHZ_TIMEOUT_SECONDS=1)
def test_a_check_that_hangs_is_reported_as_a_timeout_without_waiting_for_it(monkeypatch):
    released = threading.Event()

    def hangs(timeout: float) -> None:
        # Returns normally once released: had the probe waited for it, it would say "ok".
        released.wait(60)

    monkeypatch.setitem(health.CHECKS, "storage", hangs)
    try:
        response = Client().get("/healthz")
        assert not released.is_set()
    finally:
        released.set()
    assert response.status_code == 503 and response.json() == {**ALL_OK, "storage": "timeout"}
