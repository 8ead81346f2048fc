"""Shared REST plumbing: the error shape, cursor pages and role permissions."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError, Problem, ValidationFailed


class CursorPage(CursorPagination):
    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200


def _flatten(detail: Any, path: str = "") -> list[Problem]:
    """DRF's nested error detail → a flat list of {code, path, message}."""
    if isinstance(detail, dict):
        out: list[Problem] = []
        for key, value in detail.items():
            key_path = "" if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            out.extend(_flatten(value, key_path))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [Problem(getattr(item, "code", "invalid") or "invalid", path, str(item)) for item in detail]
        out = []
        for i, item in enumerate(detail):
            out.extend(_flatten(item, f"{path}[{i}]"))
        return out
    return [Problem(getattr(detail, "code", "invalid") or "invalid", path, str(detail))]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error answers {code, message, errors: [{code, path, message}]}."""
    if isinstance(exc, RecursionError):
        # Only input nested absurdly deep gets here (e.g. a JSON string inside a form field): a 400, not a 500.
        exc = ValidationFailed([Problem("too_deep", "", "The request is nested too deeply to process.")])
    if isinstance(exc, DomainError):
        response = Response(exc.as_dict(), status=exc.status)
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Token realm="api"'
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    handled = drf_exception_handler(exc, context)
    if handled is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        problems = _flatten(exc.detail)
        code = problems[0].code if problems else "invalid"
        message = "; ".join(f"{p.path or '(body)'}: {p.message}" for p in problems[:3])
    else:
        detail = getattr(exc, "detail", str(exc))
        code = str(getattr(detail, "code", None) or getattr(exc, "default_code", "error"))
        if isinstance(exc, Http404):
            code = "not_found"
        message = str(detail)
        problems = [Problem(code, "", message)]
    handled.data = {"code": code, "message": message, "errors": [p.as_dict() for p in problems]}
    return handled
