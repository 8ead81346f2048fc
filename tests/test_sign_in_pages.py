"""Signing in as a person meets it: the header's link keeps one `next` and never nests the
sign-in page into it; an account without a role lands on the public pages, told why."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.test import Client

from core.ui import NO_ROLE_YET

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def sign_in_link(content: bytes) -> str:
    found = re.search(rb'<div class="who">.*?<a href="([^"]*)"[^>]*>Sign in</a>', content, re.S)
    assert found, "no Sign in link in the header"
    return found.group(1).decode().replace("&amp;", "&")


def test_the_link_brings_you_back_to_the_page_you_were_on():
    assert sign_in_link(Client().get("/public/").content) == "/accounts/login/?next=%2Fpublic%2F"


@pytest.mark.parametrize(
    ("start", "link"),
    [
        ("/accounts/login/", "/accounts/login/"),
        ("/accounts/login/?next=/workflows/", "/accounts/login/?next=%2Fworkflows%2F"),
        ("/accounts/login/?next=" + quote("/accounts/login/?next=/workflows/"), "/accounts/login/"),
        ("/accounts/login/?next=https://evil.example/", "/accounts/login/"),
    ],
)
def test_the_sign_in_pages_own_link_never_nests_next(start, link):
    assert sign_in_link(Client().get(start).content) == link


def test_following_the_link_again_and_again_stays_put():
    url = "/accounts/login/?next=/records/"
    for _ in range(5):
        response = Client().get(url)
        assert response.status_code == 200
        url = sign_in_link(response.content)
    assert url == "/accounts/login/?next=%2Frecords%2F"


def no_role_sentence_in(content: bytes) -> bool:
    return NO_ROLE_YET.replace("'", "&#x27;").encode() in content


def test_an_account_without_a_role_lands_on_the_public_pages_told_why(outsider):
    client = Client()
    signed = client.post("/accounts/login/", {"username": outsider.username, "password": "pw-" + outsider.username})
    assert signed.status_code == 302 and signed["Location"] == "/"
    landed = client.get("/", follow=True)
    assert landed.redirect_chain == [("/public/", 302)] and landed.status_code == 200
    assert no_role_sentence_in(landed.content) and b"admin" in landed.content


def test_the_team_still_lands_on_the_dashboard(operator):
    client = Client()
    client.force_login(operator)
    response = client.get("/")
    assert response.status_code == 200 and not no_role_sentence_in(response.content)


def test_other_team_pages_still_refuse_an_account_without_a_role(outsider: Any):
    client = Client()
    client.force_login(outsider)
    assert client.get("/workflows/").status_code == 403
