"""A request's role is read afresh for every request — by session and by token — so
a role taken away counts from the very next request. That each request reads the user and
role once is pinned in tests/test_query_counts.py ("GET library", "GET api-workflows")."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.roles import Role, role_of

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def with_token(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def role_seen(client) -> tuple[int, Role]:
    response = client.get("/api/runs/")
    return response.status_code, role_of(response.wsgi_request.user)


@pytest.mark.parametrize("via", ["session", "token"])
def test_a_role_taken_away_counts_from_the_next_request(operator, via):
    client = signed_in(operator) if via == "session" else with_token(operator)
    assert role_seen(client) == (200, Role.OPERATOR)
    operator.groups.remove(Group.objects.get(name="operator"))
    assert role_seen(client) == (403, Role.NONE)


@pytest.mark.parametrize("via", ["session", "token"])
def test_highest_role_wins_and_superusers_are_admins(operator, via):
    operator.groups.add(Group.objects.get(name="manager"), Group.objects.create(name="illustrators"))
    client = signed_in(operator) if via == "session" else with_token(operator)
    assert role_seen(client) == (200, Role.MANAGER)
    operator.groups.clear()
    operator.is_superuser = True
    operator.save()
    assert role_seen(client) == (200, Role.ADMIN)


def test_bad_tokens_and_inactive_users_are_refused(operator):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/runs/").status_code == 401
    client = with_token(operator)
    operator.is_active = False
    operator.save()
    assert client.get("/api/runs/").status_code == 401
