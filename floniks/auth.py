"""Sign-in with a brake on password guessing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse


def _key(request: HttpRequest) -> str:
    username = (request.POST.get("username") or "").strip().lower()[:150]
    return f"login-failures:{request.META.get('REMOTE_ADDR', '')}:{username}"


class ThrottledLoginView(LoginView):
    """After FLONIKS_LOGIN_ATTEMPTS failures for one address and username, refuse for a while (429)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = _key(request)
        if cache.get(key, 0) >= settings.FLONIKS_LOGIN_ATTEMPTS:
            response = self.render_to_response(self.get_context_data(form=self.get_form(), throttled=True))
            response.status_code = 429
            response["Retry-After"] = str(settings.FLONIKS_LOGIN_LOCKOUT_SECONDS)
            return response
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:  # the form came back: wrong credentials
            cache.set(key, cache.get(key, 0) + 1, settings.FLONIKS_LOGIN_LOCKOUT_SECONDS)
        else:
            cache.delete(key)
        return response
