"""The Django admin, opened to the admin role (DESIGN §1) rather than to is_staff."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from core.errors import DomainError
from core.roles import Role, role_of
from core.signin import LimitedAuthenticationForm, refuse_if_throttled


class AdminSignInForm(LimitedAuthenticationForm):
    """The admin's sign-in: the same limiter as every other way in, and open to the admin role
    (Django's own admin form asks for is_staff, which Floniks roles do not set)."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if role_of(user) < Role.ADMIN:
            raise ValidationError(
                "Please enter the username and password of an account with the admin role.", code="invalid_login"
            )


class FloniksAdminSite(admin.AdminSite):
    site_header = "Floniks administration"
    site_title = "Floniks admin"
    login_form = AdminSignInForm

    def has_permission(self, request: HttpRequest) -> bool:
        return role_of(request.user) >= Role.ADMIN

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return refuse_if_throttled(super().login(request, extra_context))


if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
else:  # Django's admin classes are not subscriptable at run time
    _ModelAdmin = admin.ModelAdmin


class RoleAdmin(_ModelAdmin):
    """Rights follow the Floniks role, not Django's per-model permissions."""

    def _is_admin(self, request: HttpRequest) -> bool:
        return role_of(request.user) >= Role.ADMIN

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._is_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nothing in Floniks is deleted through the product


class ReadOnlyAdmin(RoleAdmin):
    """For immutable, append-only rows: visible, never edited in the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


AdminAction = Callable[[Any, HttpRequest, QuerySet[Any]], TemplateResponse | None]


def service_action(
    name: str, description: str, service: Callable[..., object], row: str, *, ask_reason: bool = False, **options: Any
) -> AdminAction:
    """An admin action (`name` is its form value) that calls `service(actor=<the admin>,
    <row>=<a selected row>, **options)` on each selected row, reporting each refusal as a
    message instead of failing the page. With `ask_reason`, an intermediate page asks why
    first, and the reason goes to the service (it is kept in the pointer history)."""

    def action(
        modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        extra = dict(options)
        if ask_reason:
            reason = request.POST.get("reason", "").strip()
            if request.POST.get("confirm") != "yes" or not reason:
                return _ask_reason(modeladmin, request, queryset, name, description)
            extra["reason"] = reason
        count = 0
        for obj in queryset:
            try:
                service(actor=request.user, **{row: obj}, **extra)
                count += 1
            except DomainError as exc:
                modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
        if count:
            modeladmin.message_user(request, f"{description}: done for {count}.", messages.SUCCESS)
        return None

    action.__name__ = name
    return admin.action(description=description)(action)


def _ask_reason(
    modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any], name: str, title: str
) -> TemplateResponse:
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "queryset": queryset,
        "action": name,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/floniks_reason.html", context)
