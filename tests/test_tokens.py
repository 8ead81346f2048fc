"""API tokens: the answer says when they expire; expired, revoked and pre-password-change
tokens answer 401; admins list and revoke them in the admin without seeing their keys."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def obtain(user: Any, password: str | None = None) -> dict[str, Any]:
    response = APIClient().post(
        "/api/auth/token/", {"username": user.username, "password": password or "pw-" + user.username}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key: str) -> int:
    return bearer(key).get("/api/workflows/").status_code


def signed_in(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password="pw-" + user.username)
    return client


def test_the_token_answer_says_when_it_expires(operator, settings):
    settings.FLONIKS_TOKEN_TTL_DAYS = 30
    answer = obtain(operator)
    assert set(answer) == {"token", "expires_at"}
    expires = parse_datetime(answer["expires_at"])
    assert expires is not None
    assert abs(expires - (timezone.now() + datetime.timedelta(days=30))) < datetime.timedelta(minutes=5)
    assert obtain(operator) == answer  # asking again returns the same live token
    assert works(answer["token"]) == 200


def test_an_expired_token_answers_401_and_a_new_one_is_issued(operator, settings):
    old = obtain(operator)["token"]
    Token.objects.filter(key=old).update(created=timezone.now() - datetime.timedelta(days=91))
    refused = bearer(old).get("/api/workflows/")
    assert refused.status_code == 401 and "expired" in refused.json()["message"]
    fresh = obtain(operator)["token"]
    assert fresh != old and works(fresh) == 200 and works(old) == 401


def test_the_expiry_follows_the_setting(operator, settings):
    key = obtain(operator)["token"]
    Token.objects.filter(key=key).update(created=timezone.now() - datetime.timedelta(days=10))
    assert works(key) == 200
    settings.FLONIKS_TOKEN_TTL_DAYS = 7
    assert works(key) == 401


def test_delete_revokes_ones_own_token(operator, manager):
    key = obtain(operator)["token"]
    other = obtain(manager)["token"]
    assert bearer(key).delete("/api/auth/token/").status_code == 204
    assert works(key) == 401 and works(other) == 200
    assert bearer(key).delete("/api/auth/token/").status_code == 401


def test_delete_without_credentials_is_401(operator):
    key = obtain(operator)["token"]
    refused = APIClient().delete("/api/auth/token/")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Token")
    assert works(key) == 200


def test_the_password_change_page_revokes_the_old_token(operator):
    key = obtain(operator)["token"]
    client = signed_in(operator)
    page = client.get("/accounts/password_change/")
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    body = {
        "old_password": "pw-" + operator.username,
        "new_password1": "A-new-long-pass-42",
        "new_password2": "A-new-long-pass-42",
    }
    if csrf:
        body["csrfmiddlewaretoken"] = csrf.group(1).decode()
    assert client.post("/accounts/password_change/", body).status_code == 302
    assert works(key) == 401
    assert works(obtain(operator, "A-new-long-pass-42")["token"]) == 200


def test_set_password_and_save_revokes_the_old_token(operator):
    key = obtain(operator)["token"]
    operator.set_password("Another-long-pass-7")
    operator.save()
    assert works(key) == 401


def test_the_admins_password_form_revokes_the_users_token(operator, admin_user):
    key = obtain(operator)["token"]
    response = signed_in(admin_user).post(
        f"/admin/auth/user/{operator.pk}/password/",
        {"password1": "Set-by-the-admin-9", "password2": "Set-by-the-admin-9", "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert works(key) == 401


def test_saving_the_user_without_a_new_password_keeps_the_token(operator):
    key = obtain(operator)["token"]
    signed_in(operator)  # sign-in saves last_login
    operator.refresh_from_db()
    operator.first_name = "Olivia"
    operator.save()
    assert works(key) == 200


# --- the admin --------------------------------------------------------------------------------


def test_a_stronger_hash_at_sign_in_keeps_the_token_but_a_new_hash_by_script_revokes_it(operator, settings):
    """Django rehashes a password at sign-in when the hasher changes: the same password, so tokens stay."""
    from django.contrib.auth.hashers import make_password

    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    User.objects.filter(pk=operator.pk).update(password=make_password("pw-rehash", hasher="md5"))
    operator.refresh_from_db()
    token = Token.objects.create(user=operator)
    assert authenticate(username=operator.username, password="pw-rehash") is not None
    operator.refresh_from_db()
    assert operator.password.startswith("pbkdf2_") and Token.objects.filter(pk=token.pk).exists()

    operator.password = make_password("pw-by-script")  # a script sets a new hash directly
    operator.save()
    assert not Token.objects.filter(pk=token.pk).exists()


def test_admins_list_tokens_without_seeing_the_keys(operator, manager, admin_user):
    keys = [obtain(operator)["token"], obtain(manager)["token"]]
    client = signed_in(admin_user)
    listing = client.get("/admin/core/apitoken/")
    assert listing.status_code == 200
    assert operator.username.encode() in listing.content and manager.username.encode() in listing.content
    detail = client.get(f"/admin/core/apitoken/{operator.pk}/change/")
    assert detail.status_code == 200 and operator.username.encode() in detail.content
    for page in (listing, detail, client.get(f"/admin/core/apitoken/{operator.pk}/delete/")):
        assert not any(key.encode() in page.content for key in keys)
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404  # DRF's own listing is gone


def test_an_admin_revokes_a_token_and_the_log_keeps_no_key(operator, admin_user):
    from django.contrib.admin.models import LogEntry

    key = obtain(operator)["token"]
    client = signed_in(admin_user)
    response = client.post(f"/admin/core/apitoken/{operator.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert works(key) == 401
    entry = LogEntry.objects.get()
    assert entry.object_id == str(operator.pk) and key not in entry.object_repr
    assert client.get("/admin/").status_code == 200 and key.encode() not in client.get("/admin/").content


@pytest.mark.parametrize("who", ["operator", "manager"])
def test_only_admins_manage_tokens(personas, who):
    client = signed_in(personas[who])
    assert client.get("/admin/core/apitoken/").status_code == 302  # to the admin's sign-in
    key = obtain(personas[who])["token"]
    client.post(f"/admin/core/apitoken/{personas[who].pk}/delete/", {"post": "yes"})
    assert works(key) == 200
