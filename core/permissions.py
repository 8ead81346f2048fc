"""DRF permission classes for the roles of DESIGN §1 (kept apart from core.api
so that DRF's settings can import them without a circular import)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import permissions

from core.roles import Role, role_of

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class IsTeamMember(permissions.BasePermission):
    """Operator or above. Anonymous callers get 401, role-less accounts 403."""

    message = "Only team members (operator, manager or admin) may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return role_of(request.user) >= Role.OPERATOR


class PublicRead(permissions.BasePermission):
    """Reads open to everyone (the view filters to public material); writes need a team member."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method in permissions.SAFE_METHODS or role_of(request.user) >= Role.OPERATOR
