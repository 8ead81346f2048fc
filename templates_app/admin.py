"""Admin for every templates model. Immutable rows are read-only; every change
an admin can make here goes through templates_app.services."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from core.admin_site import ReadOnlyAdmin, RoleAdmin
from core.errors import DomainError
from templates_app import services
from templates_app.models import Draft, ModelFamily, ModelSnapshot, PointerMove, Workflow, WorkflowVersion


def _each(
    request: HttpRequest,
    modeladmin: admin.ModelAdmin[Any],
    queryset: QuerySet[Any],
    call: Callable[[Any], Any],
    verb: str,
) -> None:
    """Run a service on each selected row, reporting refusals instead of failing the page."""
    done = 0
    for obj in queryset:
        try:
            call(obj)
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{verb} {done} item(s).", messages.SUCCESS)


def _with_reason(
    request: HttpRequest,
    modeladmin: admin.ModelAdmin[Any],
    queryset: QuerySet[Any],
    call: Callable[[Any, str], Any],
    verb: str,
    title: str,
) -> TemplateResponse | None:
    """An action that needs a reason (issue 11): ask for it on an intermediate page, then run it."""
    reason = request.POST.get("reason", "").strip()
    if request.POST.get("confirm") == "yes" and reason:
        _each(request, modeladmin, queryset, lambda obj: call(obj, reason), verb)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "queryset": queryset,
        "action": request.POST.get("action", ""),
        "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/floniks_reason.html", context)


if TYPE_CHECKING:
    _TabularInline = admin.TabularInline[ModelSnapshot, ModelFamily]
else:  # Django's admin classes are not subscriptable at run time
    _TabularInline = admin.TabularInline


class SnapshotInline(_TabularInline):
    model = ModelSnapshot
    fields = ["snapshot", "status", "created_at"]
    readonly_fields = ["snapshot", "status", "created_at"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ModelFamily)
class ModelFamilyAdmin(ReadOnlyAdmin):
    list_display = ["name", "tier", "provider", "default_snapshot"]
    inlines = [SnapshotInline]


@admin.register(ModelSnapshot)
class ModelSnapshotAdmin(RoleAdmin):
    list_display = ["__str__", "status", "created_at"]
    list_filter = ["status", "family"]
    actions = ["retire"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["family", "snapshot", "status"] if obj else ["status"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ModelSnapshot, form: Any, change: bool) -> None:
        created = services.add_model_snapshot(actor=request.user, family=obj.family.name, snapshot=obj.snapshot)
        obj.pk = created.pk

    @admin.action(description="Retire the selected snapshots")
    def retire(self, request: HttpRequest, queryset: QuerySet[ModelSnapshot]) -> None:
        _each(
            request, self, queryset, lambda s: services.retire_model_snapshot(actor=request.user, snapshot=s), "Retired"
        )


@admin.register(Workflow)
class WorkflowAdmin(RoleAdmin):
    list_display = ["slug", "name", "lifecycle", "mode", "canonical_version", "derived_from", "direction_label"]
    list_filter = ["lifecycle", "mode"]
    search_fields = ["slug", "name", "direction_label"]
    readonly_fields = [
        "canonical_version",
        "mode",
        "lifecycle",
        "derived_from",
        "derived_from_version",
        "direction_label",
        "spawned_from",
        "approved_by",
        "approved_at",
        "created_by",
        "created_at",
        "updated_at",
    ]
    actions = ["archive", "resurrect", "approve"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "slug"] if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Workflow, form: Any, change: bool) -> None:
        if change:
            services.update_workflow(actor=request.user, workflow=obj, name=obj.name, description=obj.description)
        else:
            created = services.create_workflow(
                actor=request.user, slug=obj.slug, name=obj.name, description=obj.description
            )
            obj.pk = created.pk

    @admin.action(description="Archive the selected workflows")
    def archive(self, request: HttpRequest, queryset: QuerySet[Workflow]) -> TemplateResponse | None:
        return _with_reason(
            request,
            self,
            queryset,
            lambda w, why: services.archive_workflow(actor=request.user, workflow=w, reason=why),
            "Archived",
            "Archive these workflows",
        )

    @admin.action(description="Resurrect the selected workflows")
    def resurrect(self, request: HttpRequest, queryset: QuerySet[Workflow]) -> TemplateResponse | None:
        return _with_reason(
            request,
            self,
            queryset,
            lambda w, why: services.resurrect_workflow(actor=request.user, workflow=w, reason=why),
            "Resurrected",
            "Resurrect these workflows",
        )

    @admin.action(description="Approve the selected direction (archives its siblings)")
    def approve(self, request: HttpRequest, queryset: QuerySet[Workflow]) -> None:
        _each(request, self, queryset, lambda w: services.approve_direction(actor=request.user, workflow=w), "Approved")


@admin.register(Draft)
class DraftAdmin(ReadOnlyAdmin):
    list_display = ["id", "workflow", "author", "updated_at", "discarded_at", "published_version"]
    list_filter = ["workflow"]
    actions = ["discard"]

    @admin.action(description="Discard the selected drafts")
    def discard(self, request: HttpRequest, queryset: QuerySet[Draft]) -> None:
        _each(request, self, queryset, lambda d: services.discard_draft(actor=request.user, draft=d), "Discarded")


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "workflow",
        "version",
        "visibility",
        "channel",
        "bump",
        "published_by",
        "published_at",
        "manifest_hash",
    ]
    list_filter = ["visibility", "channel", "bump"]
    search_fields = ["workflow__slug", "version", "manifest_hash"]
    actions = ["promote", "make_public"]

    @admin.action(description="Make the selected version canonical")
    def promote(self, request: HttpRequest, queryset: QuerySet[WorkflowVersion]) -> None:
        _each(request, self, queryset, lambda v: services.promote_version(actor=request.user, version=v), "Promoted")

    @admin.action(description="Raise the selected versions to public")
    def make_public(self, request: HttpRequest, queryset: QuerySet[WorkflowVersion]) -> None:
        _each(
            request,
            self,
            queryset,
            lambda v: services.raise_visibility(actor=request.user, version=v, visibility="public"),
            "Made public",
        )


@admin.register(PointerMove)
class PointerMoveAdmin(ReadOnlyAdmin):
    list_display = ["at", "pointer", "workflow", "version", "model_family", "from_value", "to_value", "actor", "reason"]
    list_filter = ["pointer"]
    search_fields = ["workflow__slug", "reason"]


# Users and roles: the admin role manages them, whatever Django's own permissions say.
User = get_user_model()
for model, base in ((User, UserAdmin), (Group, GroupAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, type(f"Role{base.__name__}", (RoleAdmin, base), {}))
