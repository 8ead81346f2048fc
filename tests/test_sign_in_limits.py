"""Password guessing meets one limiter on every way in (token endpoint, sign-in page, admin
sign-in), keyed on the account and the client, where the client is believed from
X-Forwarded-For only behind a trusted proxy; the counts live in a cache all processes share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from rest_framework.test import APIClient

from core.net import client_ip, client_key, trusted_networks

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from rest_framework.throttling import ScopedRateThrottle

    # DRF's plain rate limit on the token endpoint (10/min per client) would mask what is tested here.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "1000/min"})
    cache.clear()
    # A first delay far longer than any test takes: the refusals below never depend on timing.
    settings.FLONIKS_LOGIN_FIRST_DELAY_SECONDS = 600
    settings.FLONIKS_LOGIN_LOCKOUT_SECONDS = 3600
    settings.FLONIKS_TRUSTED_PROXIES = ()


def trust(settings: Any, proxies: str) -> None:
    settings.FLONIKS_TRUSTED_PROXIES = trusted_networks("TRUSTED_PROXIES", proxies)


def token_post(username: str, password: str, forwarded: str | None = None, remote: str = "127.0.0.1") -> Any:
    extra: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json", **extra)


def admin_post(username: str, password: str, forwarded: str) -> Any:
    return Client().post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        HTTP_X_FORWARDED_FOR=forwarded,
    )


# --- the client's address ----------------------------------------------------------------


def request_from(remote: str, forwarded: str | None = None) -> Any:
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return SimpleNamespace(META=meta)


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "client"),
    [
        ("", "203.0.113.9", "10.9.1.1", "203.0.113.9"),  # nobody trusted: the header is ignored
        ("10.0.0.5", "203.0.113.9", "10.9.1.1", "203.0.113.9"),  # the peer is not the proxy
        ("10.0.0.5", "10.0.0.5", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.5", "10.0.0.5", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # a forged hop on the left
        ("10.0.0.0/24", "10.0.0.5", "6.6.6.6, 198.51.100.7, 10.0.0.9", "198.51.100.7"),  # two proxies
        ("10.0.0.5", "10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", "10.0.0.5", "not-an-address", "10.0.0.5"),
        ("10.0.0.5", "10.0.0.5", "198.51.100.7:51234", "198.51.100.7"),
        ("10.0.0.5", "10.0.0.5", "[2001:db8::7]:443", "2001:db8::7"),
        ("10.0.0.5", "::ffff:10.0.0.5", "198.51.100.7", "198.51.100.7"),
    ],
)
def test_the_client_is_the_right_most_address_a_trusted_proxy_vouches_for(settings, proxies, remote, forwarded, client):
    trust(settings, proxies)
    assert client_ip(request_from(remote, forwarded)) == client


def test_an_ipv6_client_counts_as_its_64():
    one, other = request_from("2001:db8:1:2::1"), request_from("2001:db8:1:2:ffff::9")
    assert client_key(one) == client_key(other) == "2001:db8:1:2::/64"
    assert client_key(request_from("2001:db8:1:3::1")) != client_key(one)


@pytest.mark.parametrize("value", ["10.0.0.1,,10.0.0.2", "10.0.0.300", "proxy.example.com"])
def test_a_bad_trusted_proxy_list_is_refused(value):
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        trusted_networks("TRUSTED_PROXIES", value)


def manage_check(**overrides: str) -> subprocess.CompletedProcess[str]:
    dropped = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CACHE_URL", "TRUSTED_PROXIES", "BEHIND_TLS_PROXY"}
    dropped.add("DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    production = {
        "DEBUG": "0",
        "SECRET_KEY": "a-long-random-production-secret-" + "x7Qp2" * 10,
        "ALLOWED_HOSTS": "floniks.example.com",
        "CACHE_URL": "redis://127.0.0.1:6379/1",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **production, **overrides},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_a_shared_cache_does_not_start():
    result = manage_check(CACHE_URL="")
    assert result.returncode != 0 and "CACHE_URL must be set" in result.stderr


def test_a_bad_trusted_proxy_stops_start_up():
    result = manage_check(TRUSTED_PROXIES="10.0.0.1,gateway")
    assert result.returncode != 0 and "TRUSTED_PROXIES item 'gateway'" in result.stderr


def test_a_tls_proxy_without_trusted_proxies_is_warned_about():
    warned = manage_check(BEHIND_TLS_PROXY="1")
    assert "floniks.W001" in warned.stderr + warned.stdout
    told = manage_check(BEHIND_TLS_PROXY="1", TRUSTED_PROXIES="10.0.0.5")
    assert told.returncode == 0 and "floniks.W001" not in told.stderr + told.stdout


# --- one limiter, every way in -------------------------------------------------------------


def test_made_up_forwarded_addresses_do_not_escape_the_token_limit(operator):
    codes = [token_post(operator.username, "guess", forwarded=f"10.9.{i}.1").status_code for i in range(30)]
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}
    refused = token_post(operator.username, "pw-" + operator.username, forwarded="10.9.99.1")
    assert refused.status_code == 429 and "token" not in refused.json()
    assert int(refused["Retry-After"]) > 0 and refused.json()["code"] == "throttled"


def test_a_password_sent_as_a_number_is_counted_like_any_other(operator):
    """DRF reads a JSON number as text, so 100123 is a real guess: it must be counted and held back too."""
    wrong = [
        APIClient().post("/api/auth/token/", {"username": operator.username, "password": 100000 + i}, format="json")
        for i in range(8)
    ]
    assert [r.status_code for r in wrong] == [400] * 5 + [429] * 3
    operator.set_password("424242")
    operator.save()
    right = APIClient().post("/api/auth/token/", {"username": operator.username, "password": 424242}, format="json")
    assert right.status_code == 429 and "token" not in right.json()


def test_made_up_forwarded_addresses_do_not_escape_the_admin_limit(admin_user):
    codes = [admin_post(admin_user.username, "guess", f"10.9.{i}.1").status_code for i in range(30)]
    assert codes[:5] == [200] * 5 and set(codes[5:]) == {429}
    refused = admin_post(admin_user.username, "pw-" + admin_user.username, "10.9.99.1")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert b"Too many failed attempts" in refused.content and "_auth_user_id" not in refused.wsgi_request.session


def test_the_admin_role_signs_in_at_the_admin_and_others_do_not(admin_user, manager):
    assert admin_post(admin_user.username, "pw-" + admin_user.username, "").status_code == 302
    assert admin_post(manager.username, "pw-" + manager.username, "").status_code == 200


def test_the_three_ways_in_share_one_count(operator):
    for _ in range(2):
        assert token_post(operator.username, "guess").status_code == 400
    for _ in range(2):
        assert Client().post("/accounts/login/", {"username": operator.username, "password": "x"}).status_code == 200
    assert admin_post(operator.username, "guess", "").status_code == 200
    page = Client().post("/accounts/login/", {"username": operator.username, "password": "pw-" + operator.username})
    assert page.status_code == 429 and page["Retry-After"]
    assert b"Too many failed attempts. Try again in 10 minutes." in page.content


def test_a_success_clears_the_count_before_the_limit(operator):
    for _ in range(4):
        assert token_post(operator.username, "guess").status_code == 400
    assert token_post(operator.username, "pw-" + operator.username).status_code == 200
    for _ in range(4):
        assert token_post(operator.username, "guess").status_code == 400
    assert token_post(operator.username, "pw-" + operator.username).status_code == 200


def test_the_wait_doubles_with_each_failure_up_to_the_longest(operator, settings, monkeypatch):
    import core.signin

    now = [1_000_000.0]
    monkeypatch.setattr(core.signin.time, "time", lambda: now[0])
    settings.FLONIKS_LOGIN_FIRST_DELAY_SECONDS, settings.FLONIKS_LOGIN_LOCKOUT_SECONDS = 30, 100
    waits = []
    for _ in range(9):
        response = token_post(operator.username, "guess")
        if response.status_code == 429:
            waits.append(int(response["Retry-After"]))
            now[0] += waits[-1]  # wait exactly as told, then guess again
            assert token_post(operator.username, "guess").status_code == 400
    assert waits == [30, 60, 100, 100]


# --- who is kept out ----------------------------------------------------------------------------


def test_behind_a_trusted_proxy_clients_do_not_lock_each_other_out(operator, settings):
    trust(settings, "127.0.0.1")
    attacker = "203.0.113.66"
    for i in range(30):
        # The attacker forges a hop on the left; the proxy appends the address it really saw.
        expected = 400 if i < 5 else 429
        assert token_post(operator.username, "guess", forwarded=f"10.9.{i}.1, {attacker}").status_code == expected
    owner = token_post(operator.username, "pw-" + operator.username, forwarded="198.51.100.20")
    assert owner.status_code == 200 and owner.json()["token"]
    page = Client().post(
        "/accounts/login/",
        {"username": operator.username, "password": "pw-" + operator.username},
        HTTP_X_FORWARDED_FOR="198.51.100.21",
    )
    assert page.status_code == 302


def test_one_client_spraying_many_accounts_is_slowed(operator, settings):
    settings.FLONIKS_LOGIN_CLIENT_ATTEMPTS = 20
    codes = [token_post(f"someone-{i}", "Summer2026!").status_code for i in range(21)]
    assert codes == [400] * 20 + [429]
    # …for every account, even a real one with the right password, from that client only.
    assert token_post(operator.username, "pw-" + operator.username).status_code == 429
    assert token_post(operator.username, "pw-" + operator.username, remote="192.0.2.8").status_code == 200


def test_many_clients_on_one_account_slow_newcomers_but_not_the_owners_usual_client(operator, settings):
    settings.FLONIKS_LOGIN_ACCOUNT_ATTEMPTS = 40
    usual = "192.0.2.10"
    assert token_post(operator.username, "pw-" + operator.username, remote=usual).status_code == 200
    for i in range(40):  # a botnet: four guesses from each of ten addresses, under every per-client allowance
        assert token_post(operator.username, "guess", remote=f"198.51.100.{i // 4}").status_code == 400
    assert token_post(operator.username, "pw-" + operator.username, remote="192.0.2.99").status_code == 429
    assert token_post(operator.username, "pw-" + operator.username, remote=usual).status_code == 200


def test_the_usernames_case_does_not_buy_more_guesses(operator):
    for name in ["olivia-operator", "Olivia-Operator", "OLIVIA-OPERATOR", " olivia-operator", "olivia-OPERATOR"]:
        assert token_post(name, "guess").status_code == 400
    assert token_post("oLiViA-operator", "guess").status_code == 429


def test_an_incomplete_form_tries_no_password_and_counts_nothing(operator):
    for _ in range(10):
        assert APIClient().post("/api/auth/token/", {"username": operator.username}, format="json").status_code == 400
        assert Client().post("/accounts/login/", {"username": operator.username}).status_code == 200
    assert token_post(operator.username, "pw-" + operator.username).status_code == 200


# --- two processes, one count ---------------------------------------------------------------------


@pytest.fixture
def two_servers(transactional_db: Any) -> Any:
    """Two web servers (gunicorn, one worker each) on loopback, sharing this test's database and Redis."""
    from django.conf import settings

    from testing.services import free_port, wait_for_port

    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url.startswith("redis"):
        pytest.fail("this test needs the Redis of `python -m testing.run`")
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "floniks.settings",
        "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CACHE_URL": redis_url.rsplit("/", 1)[0] + "/3",  # a database of its own, beside the broker's
        "FLONIKS_VAR_DIR": str(settings.VAR_DIR),
        "LOG_LEVEL": "WARNING",
        "FLONIKS_LOGIN_FIRST_DELAY_SECONDS": "600",  # no refusal here depends on timing
    }
    import redis

    redis.Redis.from_url(env["CACHE_URL"]).flushdb()
    servers = []
    for _ in range(2):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "floniks.wsgi", "-b", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers.append((f"http://127.0.0.1:{port}", process))
    try:
        for url, _ in servers:
            wait_for_port(int(url.rsplit(":", 1)[1]), timeout=60)
        yield [url for url, _ in servers]
    finally:
        for _, process in servers:
            process.terminate()
            process.wait(30)


def post_json(url: str, body: dict[str, str]) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_two_server_processes_share_one_limit(two_servers, operator):
    first, second = two_servers
    body = {"username": operator.username, "password": "guess"}
    codes = [post_json(f"{(first, second)[i % 2]}/api/auth/token/", body) for i in range(5)]
    assert codes == [400] * 5  # three failures on one server, two on the other
    right = {"username": operator.username, "password": "pw-" + operator.username}
    assert post_json(f"{first}/api/auth/token/", right) == 429
    assert post_json(f"{second}/api/auth/token/", right) == 429
