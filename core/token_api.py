"""POST /api/auth/token/ (a token for a username and password, behind the sign-in limiter)
and DELETE /api/auth/token/ (revoke one's own). Kept apart from core.tokens, which DRF's
settings import for the authentication class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.signin import SignInAttempt
from core.throttling import ClientScopedRateThrottle
from core.tokens import issue_token, revoke_token, token_expires_at

_TokenAnswer = inline_serializer(
    "TokenAnswer", fields={"token": serializers.CharField(), "expires_at": serializers.DateTimeField()}
)


def _as_text(value: Any) -> str | None:
    """A field as DRF's CharField reads it: numbers are text too (a password sent as 123 is tried as "123")."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return str(value)


def _credentials(data: Any) -> tuple[str, str] | None:
    """The username and password when both were sent in a form the serializer would try: only then is a
    password tried, so exactly then the attempt is counted."""
    if not isinstance(data, Mapping):
        return None
    username, password = _as_text(data.get("username")), _as_text(data.get("password"))
    if username and username.strip() and password:
        return username, password
    return None


class TokenView(APIView):
    """POST exchanges a username and password for an API token; DELETE revokes the caller's token."""

    throttle_classes = [ClientScopedRateThrottle]
    throttle_scope = "login"

    def get_permissions(self) -> list[Any]:
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    def get_throttles(self) -> list[Any]:
        return super().get_throttles() if self.request.method == "POST" else []

    @extend_schema(
        request=AuthTokenSerializer,
        responses={
            200: _TokenAnswer,
            400: OpenApiResponse(description="Wrong username or password, or one of them missing."),
            429: OpenApiResponse(description="Too many failed attempts; Retry-After says when to try again."),
        },
    )
    def post(self, request: Request) -> Response:
        attempt = None
        sent = _credentials(request.data)
        if sent is not None:
            attempt = SignInAttempt.of(request, sent[0])
            wait = attempt.wait_seconds()
            if wait:
                raise exceptions.Throttled(wait=wait, detail="Too many failed attempts.")
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            if attempt is not None:
                attempt.failed()
            raise exceptions.ValidationError(serializer.errors)
        if attempt is not None:
            attempt.succeeded()
        token = issue_token(user=serializer.validated_data["user"])
        return Response({"token": token.key, "expires_at": token_expires_at(token)})

    @extend_schema(request=None, responses={204: None, 401: OpenApiResponse(description="No valid token sent.")})
    def delete(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)  # IsAuthenticated let only a signed-in user this far
        token = request.auth if isinstance(request.auth, Token) else None
        if token is None:
            # Signed in by session: revoke the account's token, the one thing this endpoint names.
            token = Token.objects.filter(user=user).first()
        if token is not None:
            revoke_token(actor=user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
