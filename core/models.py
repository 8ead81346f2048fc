"""The API token as the admin sees it: DRF's token under a name that never prints its key."""

from __future__ import annotations

from rest_framework.authtoken.models import Token


class ApiToken(Token):
    class Meta:
        proxy = True
        verbose_name = "API token"
        verbose_name_plural = "API tokens"

    def __str__(self) -> str:
        # Token.__str__ is the key itself, and the admin writes str(obj) into pages and its log.
        return f"API token of {self.user}"

    @property
    def key_hint(self) -> str:
        """Enough of the key for its owner to recognise it; far too little to use it."""
        return f"{self.key[:4]}…"
