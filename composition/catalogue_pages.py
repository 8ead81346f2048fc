"""The model catalogue in the browser: every family with its snapshots and the history of its
default and snapshot statuses (`/models/`), and per snapshot what it touches (`/models/<ref>/`),
which is also the confirmation page an admin sees before retiring it, making it the default
(or moving the default back) or restoring it. The changes go through templates_app.services."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.roles import Role, role_of
from core.ui import page, perform, team_only
from runs_app.impact import snapshot_impact
from templates_app import services
from templates_app.models import ModelFamily, ModelSnapshot, Pointer, PointerMove, SnapshotStatus

CATALOGUE_POINTERS = (Pointer.DEFAULT_SNAPSHOT, Pointer.SNAPSHOT_STATUS)

# action → (the service, what the page calls it, the message once done)
ACTIONS: dict[str, tuple[Any, str, str]] = {
    "retire": (services.retire_model_snapshot, "Retire", "{ref} retired."),
    "default": (services.set_default_snapshot, "Make it the default", "{ref} is now the default."),
    "restore": (services.restore_model_snapshot, "Restore", "{ref} restored."),
}


@require_GET
@team_only
def catalogue(request: HttpRequest) -> HttpResponse:
    """Every family, its snapshots and its default, and the last moves of the catalogue's pointers.
    Three queries, whatever the size of the catalogue."""
    families = list(ModelFamily.objects.select_related("default_snapshot"))
    snapshots: dict[int, list[ModelSnapshot]] = {}
    for snap in ModelSnapshot.objects.order_by("family_id", "-snapshot"):
        snapshots.setdefault(snap.family_id, []).append(snap)
    rows = []
    for fam in families:
        for snap in snapshots.get(fam.pk, []):
            snap.family = fam  # already loaded: the links need its name
        rows.append({"family": fam, "snapshots": snapshots.get(fam.pk, [])})
    history = list(
        PointerMove.objects.filter(pointer__in=CATALOGUE_POINTERS).select_related("actor", "model_family")[:30]
    )
    return page(request, "floniks/catalogue.html", {"families": rows, "history": history})


def _snapshot(family: str, snapshot: str) -> ModelSnapshot:
    return get_object_or_404(
        ModelSnapshot.objects.select_related("family__default_snapshot"), family__name=family, snapshot=snapshot
    )


@require_GET
@team_only
def snapshot_page(request: HttpRequest, family: str, snapshot: str) -> HttpResponse:
    """What this snapshot touches; with `?action=retire|default|restore`, an admin's confirmation
    of that change. Making a snapshot the default moves the floating workflows off today's default,
    so that confirmation lists the impact of today's default (what floats on it)."""
    if role_of(request.user) < Role.MANAGER:
        raise PermissionDenied("What a model change touches is for managers and admins.")
    snap = _snapshot(family, snapshot)
    action = request.GET.get("action", "")
    if action and action not in ACTIONS:
        raise Http404
    current = snap.family.default_snapshot
    moving_default = action == "default" and current is not None and current.pk != snap.pk
    if moving_default:
        assert current is not None
        current.family = snap.family
    impact = snapshot_impact(current if moving_default and current is not None else snap)
    context = {
        "snapshot": snap,
        "impact": impact,
        "action": action,
        "action_label": ACTIONS[action][1] if action else "",
        "moving_default_from": current if moving_default else None,
        "retiring": action == "retire",
        "may_change": role_of(request.user) >= Role.ADMIN,
        "is_retired": snap.status == SnapshotStatus.RETIRED,
        "is_default": current is not None and current.pk == snap.pk,
    }
    return page(request, "floniks/model_snapshot.html", context)


@require_POST
@team_only
def snapshot_action(request: HttpRequest, family: str, snapshot: str, action: str) -> HttpResponse:
    """The confirmation page's button: one service call, then back to the catalogue."""
    found = ACTIONS.get(action)
    if found is None:
        raise Http404
    snap = _snapshot(family, snapshot)
    service, _label, success = found
    return perform(
        request,
        lambda: service(actor=request.user, snapshot=snap, reason=request.POST.get("reason", "").strip()),
        success=success.format(ref=f"{family}@{snapshot}"),
        then=reverse("catalogue"),
    )
