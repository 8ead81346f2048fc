"""The Django admin, opened to the admin role (DESIGN §1) rather than to is_staff."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from core.roles import Role, role_of


class FloniksAdminSite(admin.AdminSite):
    site_header = "Floniks administration"
    site_title = "Floniks admin"

    def has_permission(self, request: HttpRequest) -> bool:
        return role_of(request.user) >= Role.ADMIN


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
