"""Shared plumbing for the server-rendered pages.

Pages check the role on the server (hiding a button is not a permission), call
services for every change and show a service's refusal as a message; one view
renders either its whole page or, for an htmx request, just its fragment."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

from core.errors import DomainError, Forbidden, NotAuthenticated, Problem
from core.roles import Role, role_of

View = TypeVar("View", bound=Callable[..., HttpResponse])


NO_ROLE_YET = (
    "Your account has no role in the team yet, so it sees what the public sees. "
    "Ask an admin to give it a role (operator, manager or admin)."
)


def role_required(minimum: Role) -> Callable[[View], View]:
    """Anonymous visitors are sent to sign in; signed-in users below the role get 403, except that an
    account with no role at all, arriving where sign-in lands (LOGIN_REDIRECT_URL), is shown the
    public pages with a sentence saying why."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if role_of(request.user) == Role.NONE and _is_landing(request):
                messages.info(request, NO_ROLE_YET)
                return HttpResponseRedirect(reverse("public"))
            if role_of(request.user) < minimum:
                raise PermissionDenied(f"This page is for {minimum.with_article} or above.")
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


team_only = role_required(Role.OPERATOR)


def _is_landing(request: HttpRequest) -> bool:
    return request.method in ("GET", "HEAD") and request.path == resolve_url(settings.LOGIN_REDIRECT_URL)


def sign_in_url(request: HttpRequest) -> str:
    """The header's "Sign in" link: back to this page afterwards, except from the sign-in page itself,
    which keeps the `next` it was given instead of nesting itself into it."""
    login = resolve_url(settings.LOGIN_URL)
    if request.path != login:
        target: str | None = request.get_full_path()
    else:
        target = request.GET.get("next")
        safe = target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        if not safe or target.split("?")[0] == login:  # type: ignore[union-attr]
            target = None
    return f"{login}?{urlencode({'next': target})}" if target else login


def problem_text(exc: DomainError) -> str:
    if len(exc.problems) <= 1:
        return exc.message
    return exc.message.split(";")[0] + " — " + "; ".join(f"{p.path or '(all)'}: {p.message}" for p in exc.problems)


def perform(request: HttpRequest, call: Callable[[], Any], *, success: str, then: str) -> HttpResponseRedirect:
    """Run one service call; report its outcome as a message and redirect (POST → redirect → GET)."""
    try:
        call()
    except (Forbidden, NotAuthenticated) as exc:
        raise PermissionDenied(exc.message) from None  # a role that may not gets 403, not a message
    except DomainError as exc:
        messages.error(request, problem_text(exc))
    else:
        messages.success(request, success)
    return HttpResponseRedirect(then)


def refuse(request: HttpRequest, exc: DomainError, then: str) -> HttpResponseRedirect:
    if isinstance(exc, (Forbidden, NotAuthenticated)):
        raise PermissionDenied(exc.message)
    messages.error(request, problem_text(exc))
    return HttpResponseRedirect(then)


def succeed(request: HttpRequest, message: str, then: str) -> HttpResponseRedirect:
    messages.success(request, message)
    return HttpResponseRedirect(then)


def page(
    request: HttpRequest, template: str, context: dict[str, Any], *, fragment: str | None = None, status: int = 200
) -> HttpResponse:
    """The whole page, or only its fragment when htmx asks for it.

    A history-restore request (Back after htmx swapped the page and its cache missed) and a
    boosted request both replace the whole page, so they get the whole page. The answer varies
    on HX-Request, so no cache hands a bare fragment to a plain navigation or to Back."""
    partial = bool(fragment and wants_fragment(request))
    response = render(request, fragment if partial and fragment else template, context, status=status)
    # With a fragment, the two headers that ask for the whole page despite HX-Request vary it too.
    patch_vary_headers(
        response, ("HX-Request", "HX-History-Restore-Request", "HX-Boosted") if fragment else ("HX-Request",)
    )
    return response


def wants_fragment(request: HttpRequest) -> bool:
    """htmx swaps a part of the page: not a history restore (Back after a cache miss) nor a boosted
    navigation, which both replace the whole page. A view may skip what only the whole page shows."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx and not htmx.history_restore_request and not htmx.boosted)


def problems_by_path(problems: list[Problem]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for p in problems:
        found.setdefault(p.path, []).append(p.message)
    return found


def role_context(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the signed-in user's role, for the header and for showing actions."""
    role = role_of(request.user)
    return {
        "sign_in_url": sign_in_url(request),
        "role": role.label,
        "is_team": role >= Role.OPERATOR,
        "is_manager": role >= Role.MANAGER,
        "is_admin": role >= Role.ADMIN,
    }
