"""Sign-in with a brake on password guessing (core.signin: shared with the admin and the API)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse

from core.signin import LimitedAuthenticationForm, refuse_if_throttled


class ThrottledLoginView(LoginView):
    """Django's sign-in page; a refused attempt answers 429 with Retry-After and says how long to wait."""

    authentication_form = LimitedAuthenticationForm

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return refuse_if_throttled(super().post(request, *args, **kwargs))
