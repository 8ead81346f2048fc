"""System checks for settings that are valid alone but wrong together."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


def proxy_without_trusted_proxies(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Behind a TLS proxy with no TRUSTED_PROXIES, every client has the proxy's address: one guesser
    slows sign-in for everyone (the limits are per client)."""
    if settings.SECURE_PROXY_SSL_HEADER and not settings.FLONIKS_TRUSTED_PROXIES:
        return [
            checks.Warning(
                "BEHIND_TLS_PROXY is on but TRUSTED_PROXIES is empty, so every client counts as the proxy's address.",
                hint="Set TRUSTED_PROXIES to the proxy's address (or network), e.g. TRUSTED_PROXIES=10.0.0.5.",
                id="floniks.W001",
            )
        ]
    return []
