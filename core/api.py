"""Shared REST plumbing: the error shape, cursor pages and role permissions."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError, Problem, ValidationFailed


class CursorPage(CursorPagination):
    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Every page carries all three keys; `next` and `previous` are null at the ends."""
        page = super().get_paginated_response_schema(schema)
        page["required"] = ["next", "previous", "results"]
        return page


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
        # JSON nested past what Python decodes on the stack it has left: a JSON string inside a form field,
        # or a draft stored before definitions were capped at 32 levels (its draft page shows it compactly
        # so it can be flattened). Either way a clear answer, never a 500.
        exc = ValidationFailed(
            [Problem("too_deep", "", "This JSON is nested too deeply to process; definitions may nest 32 levels.")]
        )
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


# Addresses whose clients read JSON: an address nothing answers still gets the one error shape.
JSON_PREFIXES = ("/api/", "/artifacts/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: the error shape under the API's prefixes, the HTML page elsewhere."""
    if request.path.startswith(JSON_PREFIXES):
        message = "Nothing answers to this address."
        body = {"code": "not_found", "message": message, "errors": [Problem("not_found", "", message).as_dict()]}
        return JsonResponse(body, status=404)
    return defaults.page_not_found(request, exception or Http404())
