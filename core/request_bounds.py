"""Bounds on what a request may carry, checked before any view (or CSRF, or the session) reads its body.

- A body whose declared Content-Length is over `FLONIKS_MAX_REQUEST_BYTES` is refused (400
  `request_too_large`) before a byte of it is read: uploads never reach temporary storage. Under WSGI
  Django reads a body only up to its declared length, and a body with no length (chunked) as empty,
  so the declared length bounds every read.
- A NUL character in the path, a query parameter or a form field is refused (400 `invalid_character`,
  naming the field): PostgreSQL cannot store it, and pages read `request.GET`/`request.POST` directly.
  JSON bodies are left to the API's parser, file contents to the upload checks.

Both answer the one error shape under `/api/` and `/artifacts/`, a short page elsewhere. The checks
touch no database, so they add no queries."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string

from core.api import JSON_PREFIXES
from core.errors import Problem

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def refusal(request: HttpRequest, problem: Problem, message: str) -> HttpResponse:
    """400 in the shape the client reads: JSON under the API's prefixes, a plain page elsewhere."""
    if request.path.startswith(JSON_PREFIXES):
        return JsonResponse({"code": problem.code, "message": message, "errors": [problem.as_dict()]}, status=400)
    return HttpResponse(render_to_string("400.html", {"message": message}), status=400)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads such a body as empty too


def _nul_field(fields: QueryDict) -> str | None:
    for key, values in fields.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return key.replace("\x00", "\\x00")
    return None


def _too_large(request: HttpRequest, size: int, limit: int) -> HttpResponse:
    message = f"The request is {size} bytes; the limit is {limit}."
    return refusal(request, Problem("request_too_large", "", message), message)


def _form_fields(request: HttpRequest) -> QueryDict | HttpResponse:
    """The POST fields (file contents aside), or the refusal of a body Django cannot parse within its limits."""
    try:
        return request.POST
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = f"The form fields are larger than {limit} bytes."
        return refusal(request, Problem("request_too_large", "", message), message)
    except (TooManyFieldsSent, TooManyFilesSent):
        message = "The form has too many fields or files."
        return refusal(request, Problem("too_many_fields", "", message), message)
    except MultiPartParserError as exc:
        message = f"The form could not be read: {exc}"
        return refusal(request, Problem("invalid_body", "", message), message)


def _invalid_character(request: HttpRequest, path: str) -> HttpResponse:
    where = f"'{path}'" if path else "The address"
    message = f"{where} may not contain NUL (\\u0000) characters."
    return refusal(request, Problem("invalid_character", path, message), message)


class RequestBoundsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit: int = settings.FLONIKS_MAX_REQUEST_BYTES
        size = _declared_length(request)
        if size > limit:
            return _too_large(request, size, limit)
        if "\x00" in request.path:
            return _invalid_character(request, "")
        field = _nul_field(request.GET)
        if field is None and request.method == "POST" and request.content_type in FORM_TYPES:
            fields = _form_fields(request)
            if isinstance(fields, HttpResponse):
                return fields
            field = _nul_field(fields)
        if field is not None:
            return _invalid_character(request, field)
        return self.get_response(request)
