"""CSRF on session-authenticated writes (htmx included), login throttling."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from templates_app.models import Workflow

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    assert client.login(username=user.username, password="pw-" + user.username)
    return client


def csrf_token(client: Client, url: str = "/workflows/new/") -> str:
    page = client.get(url)
    return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()


def test_page_posts_need_the_csrf_token(operator):
    client = signed_in(operator)
    refused = client.post("/workflows/new/", {"slug": "no-token", "name": "x"})
    assert refused.status_code == 403 and not Workflow.objects.filter(slug="no-token").exists()
    token = csrf_token(client)
    accepted = client.post("/workflows/new/", {"slug": "with-token", "name": "x", "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302 and Workflow.objects.filter(slug="with-token").exists()


def test_htmx_posts_carry_the_token_in_a_header(make_workflow, publish, operator):
    from runs_app import services
    from tests.helpers import run_now, small_definition

    workflow = make_workflow()
    publish(workflow, small_definition())
    run = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x"}))
    client = signed_in(operator)
    page = client.get(f"/runs/{run.pk}/")
    token = re.search(rb'"X-CSRFToken": "([^"]+)"', page.content).group(1).decode()
    body = {"label": "fox", "annotation": "htmx post"}
    assert client.post(f"/runs/{run.pk}/finalize/", body, HTTP_HX_REQUEST="true").status_code == 403
    ok = client.post(f"/runs/{run.pk}/finalize/", body, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert ok.status_code == 302


def test_session_api_writes_need_csrf_but_token_auth_does_not(operator):
    session = APIClient(enforce_csrf_checks=True)
    session.login(username=operator.username, password="pw-" + operator.username)
    refused = session.post("/api/workflows/", {"slug": "api-no-csrf", "name": "x"}, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
    token = (
        APIClient()
        .post("/api/auth/token/", {"username": operator.username, "password": "pw-" + operator.username}, format="json")
        .json()["token"]
    )
    tokened = APIClient(enforce_csrf_checks=True)
    tokened.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert tokened.post("/api/workflows/", {"slug": "api-token", "name": "x"}, format="json").status_code == 201


def test_sign_in_page_throttles_password_guessing(operator, settings):
    settings.FLONIKS_LOGIN_ATTEMPTS = 3
    client = Client()
    for _ in range(3):
        assert client.post("/accounts/login/", {"username": operator.username, "password": "guess"}).status_code == 200
    blocked = client.post("/accounts/login/", {"username": operator.username, "password": "pw-" + operator.username})
    assert blocked.status_code == 429 and b"Too many failed attempts" in blocked.content and blocked["Retry-After"]
    other = Client().post("/accounts/login/", {"username": "someone-else", "password": "guess"})
    assert other.status_code == 200  # the brake is per address and username


def test_api_token_endpoint_is_throttled(operator, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "3/min"})  # DRF reads rates at import
    client = APIClient()
    codes = [
        client.post("/api/auth/token/", {"username": operator.username, "password": "bad"}, format="json").status_code
        for _ in range(4)
    ]
    assert codes == [400, 400, 400, 429]
