"""What browsers may do with Floniks' answers: the Permissions-Policy header on every answer, and
the API docs page with its own Content-Security-Policy (the site-wide one is in settings)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from csp.constants import SELF
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


# Swagger UI's own policy: the site's strict policy, except that its images are this site's and
# data: icons only (not the artifact bucket). Its scripts, styles and the init script all come from here.
API_DOCS_POLICY: dict[str, Any] = {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"], "img-src": [SELF, "data:"]}


def api_docs_view() -> Callable[..., HttpResponseBase]:
    return csp_replace(API_DOCS_POLICY)(ApiDocsView.as_view(url_name="schema"))
