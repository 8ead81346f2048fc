"""The OpenAPI schema's error answers: every operation documents the 4xx answers it
can give, each with the one error shape of core.api.exception_handler.

Kept apart from core.api: DRF imports that module while its own generics are
still loading (DEFAULT_PAGINATION_CLASS), and drf-spectacular imports them."""

from __future__ import annotations

from typing import Any

import uritemplate
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory


class ErrorItemSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Machine-readable, e.g. `required`, `annotation_required`.")
    path = serializers.CharField(help_text="Where in the request: a dotted field path, or empty for the whole request.")
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer[Any]):
    """The one error shape of every 4xx answer (core.api.exception_handler)."""

    code = serializers.CharField(help_text="The first problem's code, e.g. `not_found`, `workflow_archived`.")
    message = serializers.CharField()
    errors = ErrorItemSerializer(many=True)  # type: ignore[assignment]  # the API field is named "errors"


ERROR_DESCRIPTIONS = {
    400: "The request was refused; `errors` lists every problem with its `path`. Nothing changed.",
    401: "No credentials, or credentials that are not valid. Send `Authorization: Token <token>`.",
    403: "The caller's role may not do this (or a session request came without its CSRF token).",
    404: "Nothing the caller may see answers to this address.",
    409: "The current state does not allow this; `code` says why.",
    415: "The body's content type is not one this operation reads.",
    429: "Too many requests; `Retry-After` says how many seconds to wait.",
}
ERROR_HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Token`"}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
}


def _anonymous_request(method: str) -> Request:
    request = Request(APIRequestFactory().generic(method, "/"))
    request.user = AnonymousUser()
    return request


class ErrorDocumentingSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus the error answers each operation can give.

    The codes are derived from what DRF and core.api do for the view, so a new view is
    documented without decorating it:
    - 400 always: core.request_bounds refuses any request with a NUL character in its address or
      query, or a declared body over the limit, before the view runs (and bodies and filters are
      validated);
    - 401 whenever the view authenticates (missing or invalid credentials);
    - 403 when its permissions refuse an anonymous caller (a role-less account gets 403),
      or for an unsafe method under session authentication (CSRF);
    - 404 for a path with parameters or a cursor page (an unknown cursor);
    - 409 for an unsafe method that needs a team member (services refuse a state);
    - 415 when it reads a body; 429 when it is throttled.
    405 is no answer of a documented operation: DRF gives it, with `Allow`, to the
    methods the schema does not list (schemathesis' `unsupported_method` checks them).
    A view may name codes it can never give in `never_answers`; a code an operation
    documents itself (extend_schema responses) is kept as written."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        for code in sorted(self.error_statuses(operation) - set(getattr(self.view, "never_answers", ()))):
            answer: dict[str, Any] = {
                "description": ERROR_DESCRIPTIONS[code],
                "content": {"application/json": {"schema": error}},
            }
            if code in ERROR_HEADERS:
                answer["headers"] = ERROR_HEADERS[code]
            existing = responses.get(str(code))
            if existing is None:
                responses[str(code)] = answer
            elif not existing.get("content"):  # documented by description only: give it the shape
                responses[str(code)] = {**answer, "description": existing.get("description") or answer["description"]}
        # Every address can be longer than the HTTP server reads (gunicorn's limit_request_line): it answers
        # 414 itself, in HTML, before Floniks sees the request.
        responses.setdefault("414", {"description": "The address is too long.", "content": {"text/html": {}}})
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def map_parsers(self) -> list[str]:
        """The body types an operation documents. The API is JSON in (API.md); DRF's form parsers
        stay on for the browsable API but are not documented where JSON is read, or a generated client
        would be offered three encodings of one body. Upload views read only multipart: kept."""
        media: list[str] = super().map_parsers()
        return ["application/json"] if "application/json" in media else media

    def get_auth(self) -> list[dict[str, Any]]:
        auths = super().get_auth()
        if self._anonymous_allowed() and {} not in auths:
            auths.append({})  # public reads: credentials are optional
        return auths

    def _anonymous_allowed(self) -> bool:
        """Would the view's permissions let a caller without credentials in? Asked, not guessed."""
        request = _anonymous_request(self.method)
        try:
            return all(p.has_permission(request, self.view) for p in self.view.get_permissions())
        except Exception:  # a permission that needs more than a bare request: assume it refuses
            return False

    def error_statuses(self, operation: dict[str, Any]) -> set[int]:
        unsafe = self.method not in SAFE_METHODS
        authenticators = self.view.get_authenticators()
        anonymous_allowed = self._anonymous_allowed()
        paginator = self._get_paginator() if self._is_list_view() else None
        codes: set[int] = {400}  # core.request_bounds may refuse any request (NUL characters, size)
        if "requestBody" in operation:
            codes.add(415)
        if authenticators:
            codes.add(401)
        if not anonymous_allowed or (unsafe and any(isinstance(a, SessionAuthentication) for a in authenticators)):
            codes.add(403)
        if uritemplate.variables(self.path) or paginator is not None:
            codes.add(404)
        if unsafe and not anonymous_allowed:
            codes.add(409)
        if self.view.get_throttles():
            codes.add(429)
        return codes
