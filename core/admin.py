"""API tokens in the admin: listed by owner, revocable, never shown in clear.

A token's primary key is its secret, so rows are addressed by their owner's id (as
DRF's own token admin does), nothing prints the key (ApiToken.__str__), there are no
bulk actions (their checkboxes would carry the key) and the deletion log names the
owner's id, not the key. Deleting a token is revoking it, through core.tokens."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from rest_framework.authtoken.admin import TokenAdmin as DrfTokenAdmin
from rest_framework.authtoken.models import TokenProxy

from core import tokens
from core.admin_site import RoleAdmin
from core.models import ApiToken


def _admin(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # the admin site lets only signed-in admins this far
    return request.user


if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)  # DRF's own admin lists keys in clear and follows Django's permissions


class _ByOwner:
    """A token as pages may show it: named, and addressed by its owner's id."""

    def __init__(self, token: ApiToken) -> None:
        self.pk = token.user_id
        self._name = str(token)

    def __str__(self) -> str:
        return self._name


@admin.register(ApiToken)
class ApiTokenAdmin(RoleAdmin, DrfTokenAdmin):
    list_display = ["user", "key_hint", "created", "expires_at", "expired", "revoke"]
    list_filter = ["created"]
    fields = ["user", "key_hint", "created", "expires_at", "expired", "revoke"]
    readonly_fields = ["user", "key_hint", "created", "expires_at", "expired", "revoke"]
    list_select_related = ["user"]
    actions = None

    @admin.display(description="Key")
    def key_hint(self, obj: ApiToken) -> str:
        return obj.key_hint

    @admin.display(description="Expires")
    def expires_at(self, obj: ApiToken) -> datetime.datetime:
        return tokens.token_expires_at(obj)

    @admin.display(description="Expired", boolean=True)
    def expired(self, obj: ApiToken) -> bool:
        return tokens.token_expired(obj)

    @admin.display(description="Revoke")
    def revoke(self, obj: ApiToken) -> str:
        url = reverse("admin:core_apitoken_delete", args=[obj.user_id], current_app=self.admin_site.name)
        return format_html('<a class="deletelink" href="{}">Revoke…</a>', url)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[str]]:
        # Django's own list links each row by its primary key, which here is the secret.
        names = [str(obj) for obj in objs]
        return names, {"API tokens": len(names)}, set(), []

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        # The page's Delete and History links are built from the primary key: address the token by its owner
        # (and the Revoke field links to the deletion).
        extra = {**(extra_context or {}), "show_delete": False}
        obj = self.get_object(request, object_id)
        if obj is not None:
            extra["original"] = _ByOwner(obj)
        return super().change_view(request, object_id, form_url, extra)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        obj = self.get_object(request, object_id)
        if obj is not None:  # the breadcrumbs link the object by its pk: show them one addressed by its owner
            extra_context = {**(extra_context or {}), "object": _ByOwner(obj)}
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        # The history page's breadcrumbs link the row by its primary key (the secret); a token has no
        # history but its revocation, which the admin's log keeps.
        return HttpResponseRedirect(reverse("admin:core_apitoken_change", args=[object_id]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a token is issued to its owner at POST /api/auth/token/, never minted for them

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_admin(request)  # deleting is revoking

    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        tokens.revoke_token(actor=_admin(request), token=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        tokens.revoke_tokens(actor=_admin(request), tokens=queryset)

    def log_deletions(self, request: HttpRequest, queryset: Iterable[ApiToken]) -> list[LogEntry]:
        content_type = ContentType.objects.get_for_model(ApiToken, for_concrete_model=False)
        return [
            LogEntry.objects.create(
                user_id=_admin(request).pk,
                content_type=content_type,
                object_id=str(obj.user_id),
                object_repr=str(obj)[:200],
                action_flag=DELETION,
                change_message="Revoked",
            )
            for obj in queryset
        ]
