"""DRF throttles that know the client the way core.net does (kept out of core.net, which
settings import: DRF reads its settings when a throttle class is defined)."""

from __future__ import annotations

from typing import Any

from rest_framework import throttling

from core.net import client_key


class ClientScopedRateThrottle(throttling.ScopedRateThrottle):
    """DRF's scoped throttle, keyed on core.net.client_key instead of DRF's own reading of X-Forwarded-For."""

    def get_ident(self, request: Any) -> str:
        return client_key(request)
