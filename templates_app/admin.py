"""Admin for every templates model. Immutable rows are read-only; every change
an admin can make here goes through templates_app.services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from core.admin_site import ReadOnlyAdmin, RoleAdmin, service_action
from templates_app import services
from templates_app.catalogue import provider_facts, queue_for
from templates_app.models import Draft, ModelFamily, ModelSnapshot, PointerMove, Workflow, WorkflowVersion

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
    """The catalogue page: per family its provider, queue, whether it takes a seed and whether runs can
    use it on this server now (a hosted provider without its key cannot)."""

    list_display = ["name", "tier", "provider", "queue", "takes_seed", "availability", "default_snapshot"]
    inlines = [SnapshotInline]

    @admin.display(description="queue")
    def queue(self, obj: ModelFamily) -> str:
        return queue_for(obj.provider, obj.name)

    @admin.display(description="takes a seed", boolean=True)
    def takes_seed(self, obj: ModelFamily) -> bool:
        return provider_facts(obj.provider).seeded

    @admin.display(description="available")
    def availability(self, obj: ModelFamily) -> str:
        reason = provider_facts(obj.provider).unavailable
        return f"unavailable: {reason}" if reason else "available"


@admin.register(ModelSnapshot)
class ModelSnapshotAdmin(RoleAdmin):
    list_display = ["__str__", "status", "created_at"]
    list_filter = ["status", "family"]
    # Each change is confirmed on the catalogue's snapshot page first, which lists what it touches
    # (workflows floating on it, versions and production pins naming it, records, runs in flight).
    actions = ["retire", "make_default", "restore"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["family", "snapshot", "status"] if obj else ["status"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ModelSnapshot, form: Any, change: bool) -> None:
        created = services.add_model_snapshot(actor=request.user, family=obj.family.name, snapshot=obj.snapshot)
        obj.pk = created.pk

    def _confirm(
        self, request: HttpRequest, queryset: QuerySet[ModelSnapshot], action: str
    ) -> HttpResponseRedirect | None:
        """To the snapshot's confirmation page, which shows its impact before anything changes."""
        chosen = list(queryset.select_related("family")[:2])
        if len(chosen) != 1:
            self.message_user(request, "Choose one snapshot: its impact is shown before it changes.", messages.ERROR)
            return None
        snap = chosen[0]
        url = reverse("model-snapshot", args=[snap.family.name, snap.snapshot])
        return HttpResponseRedirect(f"{url}?action={action}")

    @admin.action(description="Retire the selected snapshot (shows its impact first)")
    def retire(self, request: HttpRequest, queryset: QuerySet[ModelSnapshot]) -> HttpResponseRedirect | None:
        return self._confirm(request, queryset, "retire")

    @admin.action(description="Make the selected snapshot its family's default (shows the impact first)")
    def make_default(self, request: HttpRequest, queryset: QuerySet[ModelSnapshot]) -> HttpResponseRedirect | None:
        return self._confirm(request, queryset, "default")

    @admin.action(description="Restore the selected retired snapshot")
    def restore(self, request: HttpRequest, queryset: QuerySet[ModelSnapshot]) -> HttpResponseRedirect | None:
        return self._confirm(request, queryset, "restore")


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
    actions = [
        service_action(
            "archive", "Archive the selected workflows", services.archive_workflow, "workflow", ask_reason=True
        ),
        service_action(
            "resurrect", "Resurrect the selected workflows", services.resurrect_workflow, "workflow", ask_reason=True
        ),
    ]
    # No "approve" action: approving archives siblings, so it is done on the workflow page or the API,
    # whose confirmation lists what will be archived (pins and approved records included).

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


@admin.register(Draft)
class DraftAdmin(ReadOnlyAdmin):
    list_display = ["id", "workflow", "author", "updated_at", "discarded_at", "published_version"]
    list_filter = ["workflow"]
    actions = [service_action("discard", "Discard the selected drafts", services.discard_draft, "draft")]


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
    search_fields = ["workflow__slug", "version", "manifest_hash", "message"]
    actions = [
        # In the admin, promoting over a canonical version is an override: it asks why (kept as the waiver).
        service_action(
            "promote", "Make the selected version canonical", services.promote_version, "version", ask_reason=True
        ),
        service_action(
            "make_public",
            "Raise the selected versions to public",
            services.raise_visibility,
            "version",
            visibility="public",
        ),
    ]


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
