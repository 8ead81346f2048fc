"""What browsers may do with Floniks' answers: the Permissions-Policy header on every answer, and
the API docs page with its own Content-Security-Policy (the site-wide one is in settings)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from csp.constants import NONE, SELF
from csp.decorators import csp_replace
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.views import SpectacularSwaggerSplitView


class PermissionsPolicyMiddleware:
    """Switch off the browser features no page uses (camera, microphone, geolocation …)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.header = ", ".join(f"{feature}={allow}" for feature, allow in settings.PERMISSIONS_POLICY.items())

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.header
        return response


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI with no inline script: the page loads its init script from itself (?script)
    instead of inlining it, and our template links a stylesheet instead of an inline <style>."""

    template_name = "floniks/api_docs.html"


# Swagger UI's own policy: its scripts, styles and the init script all come from this site; it
# draws icons as data: images and fetches the schema and "Try it out" answers from here. Nothing
# else — the strict site policy, spelled out for this page so a change to either is deliberate.
API_DOCS_POLICY: dict[str, Any] = {
    "default-src": [SELF],
    "script-src": [SELF],
    "style-src": [SELF],
    "img-src": [SELF, "data:"],
    "connect-src": [SELF],
    "font-src": [SELF],
    "object-src": [NONE],
    "base-uri": [SELF],
    "frame-ancestors": [NONE],
    "form-action": [SELF],
}


def api_docs_view() -> Callable[..., HttpResponseBase]:
    return csp_replace(API_DOCS_POLICY)(ApiDocsView.as_view(url_name="schema"))
