"""API shapes both apps share."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request


class ReasonSerializer(serializers.Serializer[Any]):
    """The body of every action that takes only an optional reason (it lands in the pointer history)."""

    reason = serializers.CharField(required=False, allow_blank=True, default="")


def username_or_none(user: Any) -> str | None:
    """How answers name a person (the author, the approver …): the username, or null for nobody."""
    return user.get_username() if user is not None else None


def validated(serializer: type[serializers.Serializer[Any]], request: Request, **options: Any) -> dict[str, Any]:
    """The request body as `serializer` validates it; a 400 with every problem when it does not."""
    data = serializer(data=request.data, **options)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)
