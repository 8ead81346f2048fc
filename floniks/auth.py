"""Sign-in with a brake on password guessing; each request's user loaded together with their role."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from floniks.roles import RANK_ATTRIBUTE, group_role_rank


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


class RoleAwareBackend(ModelBackend):
    """The model backend, loading each request's user together with their role: one query, not two."""

    def get_user(self, user_id: Any) -> Any:
        users = get_user_model()._default_manager.annotate(**{RANK_ATTRIBUTE: group_role_rank()})
        user = users.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


class RoleAwareTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, loading the token's user together with their role."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        tokens = self.get_model()._default_manager.select_related("user")
        token = tokens.annotate(**{RANK_ATTRIBUTE: group_role_rank("user_id")}).filter(key=key).first()
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        setattr(token.user, RANK_ATTRIBUTE, getattr(token, RANK_ATTRIBUTE))
        return token.user, token
