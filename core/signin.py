"""One brake on password guessing for every way in: the sign-in page, the admin's sign-in
and the API token endpoint.

Failed attempts are counted in the shared cache (Redis in production; settings refuse
a per-process cache when DEBUG is off) under three keys:

- the account *and* the client: FLONIKS_LOGIN_ATTEMPTS failures are free;
- the client, across accounts (one address spraying a password over many accounts):
  FLONIKS_LOGIN_CLIENT_ATTEMPTS;
- the account, across clients (many addresses on one account): FLONIKS_LOGIN_ACCOUNT_ATTEMPTS,
  set well above the client allowance so one address can never reach it alone; and it
  does not apply to a client that has signed in to that account before, so even many
  addresses cannot keep the owner out of their usual address.

Past an allowance, each further failure makes that key wait: the first delay, then twice
as long after each failure, up to the longest (FLONIKS_LOGIN_FIRST_DELAY_SECONDS …
FLONIKS_LOGIN_LOCKOUT_SECONDS). A waiting key is refused (429 with Retry-After) without
its password being tried, and a refusal is not counted. Counts are forgotten after
FLONIKS_LOGIN_WINDOW_SECONDS without a failure; a success clears the account-and-client
count only (an attacker's own good sign-in must not wipe what they did to others).
A client is core.net.client_key: its trusted address, or its /64 for IPv6."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.template.response import TemplateResponse

from core.net import client_key

logger = logging.getLogger(__name__)
_KNOWN_CLIENT_SECONDS = 90 * 86400  # how long a client that signed in stays "the owner's"
_MAX_DOUBLINGS = 30  # keeps 2**n small; the longest delay caps the result long before


def _digest(*parts: str) -> str:
    # Hashed: keys stay short and cache-safe whatever a username holds, and Redis holds no usernames.
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]


def _normalise(username: str) -> str:
    return username.strip().lower()[:150]


class SignInAttempt:
    """One try of a password for `username` from the client of `request`."""

    def __init__(self, *, account: str, client: str) -> None:
        self.account_name, self.client_name = account, client
        self.pair = "signin:pair:" + _digest(account, client)
        self.client = "signin:client:" + _digest(client)
        self.account = "signin:account:" + _digest(account)
        self.known = "signin:known:" + _digest(account, client)

    @classmethod
    def of(cls, request: Any, username: str) -> SignInAttempt:
        return cls(account=_normalise(username), client=client_key(request))

    def _scopes(self) -> list[tuple[str, int]]:
        return [
            (self.pair, settings.FLONIKS_LOGIN_ATTEMPTS),
            (self.client, settings.FLONIKS_LOGIN_CLIENT_ATTEMPTS),
            (self.account, settings.FLONIKS_LOGIN_ACCOUNT_ATTEMPTS),
        ]

    def wait_seconds(self) -> int:
        """0 when the password may be tried now; otherwise how long until it may."""
        keys = [f"{self.pair}:until", f"{self.client}:until", f"{self.account}:until", self.known]
        found = cache.get_many(keys)
        if found.get(self.known):
            found.pop(f"{self.account}:until", None)  # the owner's usual client is never kept out by others
        now = time.time()
        waits = [math.ceil(until - now) for key, until in found.items() if key.endswith(":until")]
        return max([0, *waits])

    def failed(self) -> None:
        now = time.time()
        for key, allowance in self._scopes():
            failures = _count(f"{key}:failures")
            if failures >= allowance:
                doublings = min(failures - allowance, _MAX_DOUBLINGS)
                delay = min(
                    settings.FLONIKS_LOGIN_FIRST_DELAY_SECONDS * 2**doublings, settings.FLONIKS_LOGIN_LOCKOUT_SECONDS
                )
                cache.set(f"{key}:until", now + delay, timeout=delay + 1)
                logger.warning(
                    "Sign-in: %d failures by %s (account %r, client %s); next try in %ds",
                    failures,
                    key.split(":")[1],
                    self.account_name[:40],
                    self.client_name,
                    delay,
                )

    def succeeded(self) -> None:
        cache.delete_many([f"{self.pair}:failures", f"{self.pair}:until"])
        cache.set(self.known, 1, timeout=_KNOWN_CLIENT_SECONDS)

    @staticmethod
    def refusal_message(wait: int) -> str:
        return f"Too many failed attempts. Try again in {describe_wait(wait)}."


def _count(key: str) -> int:
    """Add one failure atomically (Redis INCR), remembering it for the window from now."""
    window = settings.FLONIKS_LOGIN_WINDOW_SECONDS
    cache.add(key, 0, timeout=window)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        failures = 1
    cache.touch(key, timeout=window)
    return failures


def describe_wait(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


# --- forms and views --------------------------------------------------------------------


class LimitedAuthenticationForm(AuthenticationForm):
    """Django's sign-in form behind the limiter. `retry_after` > 0 when the attempt was refused."""

    retry_after = 0

    def clean(self) -> dict[str, Any]:
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not username or not password:
            return super().clean()  # an incomplete form tries no password
        attempt = SignInAttempt.of(self.request, username)
        self.retry_after = attempt.wait_seconds()
        if self.retry_after:
            raise ValidationError(attempt.refusal_message(self.retry_after), code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            attempt.failed()
            raise
        attempt.succeeded()
        return cleaned


def refuse_if_throttled(response: HttpResponse) -> HttpResponse:
    """A sign-in page re-rendered because the limiter refused: answer 429 with Retry-After."""
    if isinstance(response, TemplateResponse) and response.context_data:
        form = response.context_data.get("form")
        wait = getattr(form, "retry_after", 0)
        if wait:
            response.status_code = 429
            response["Retry-After"] = str(wait)
    return response
