"""Pages that show templates and runs together: the dashboard and the workflow page, whose
buttons each app's pages define (templates_app.views and runs_app.pages WORKFLOW_ACTIONS)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from composition.inbox import manager_inbox
from core.errors import DomainError, Forbidden, NotAuthenticated
from core.roles import Role, role_of
from core.ui import page, perform, problem_text, team_only, wants_fragment
from runs_app import pages as run_pages
from runs_app import services
from runs_app.approval import approval_impact
from runs_app.drift import pinned_drift, workflow_drift
from runs_app.models import Run, RunPurpose, RunStatus, VersionRecord, with_pin
from runs_app.queue_pages import batches_of
from templates_app import views as template_pages
from templates_app.catalogue import Catalogue
from templates_app.models import Channel, Draft, Pointer, PointerMove, Workflow, WorkflowVersion

WORKFLOW_ACTIONS = {**template_pages.WORKFLOW_ACTIONS, **run_pages.WORKFLOW_ACTIONS}


@require_GET
@team_only
def dashboard(request: HttpRequest) -> HttpResponse:
    """The operator's today; a manager's (and an admin's) adds the inbox above it. An htmx request
    gets the inbox alone (the fragment an inbox button swaps in)."""
    return _dashboard(request)


def _dashboard(request: HttpRequest, notice: Notice | None = None) -> HttpResponse:
    manages = role_of(request.user) >= Role.MANAGER
    catalogue = Catalogue.load()  # read once for both kinds of drift the page shows
    context: dict[str, Any] = {"inbox": manager_inbox(catalogue) if manages else None, "notice": notice}
    if manages and wants_fragment(request):
        if notice is not None:  # an inbox button was pressed: the approved records below follow too
            context |= {"approved": _recently_approved(), "approved_oob": True}
    else:
        mine = Run.objects.filter(created_by_id=request.user.pk).select_related("workflow", "version").with_thumbnail()
        my_workflows = set(mine.values_list("workflow_id", flat=True)[:200])
        context |= {
            "awaiting": list(mine.filter(status=RunStatus.AWAITING_ANNOTATION, purpose=RunPurpose.RECORD)[:20]),
            "recent": list(mine[:10]),
            "approved": _recently_approved(),
            "drift": pinned_drift(my_workflows, catalogue),
            "my_batches": batches_of(user=request.user, limit=5),
        }
    return page(request, "floniks/dashboard.html", context, fragment="floniks/_inbox.html" if manages else None)


def _recently_approved() -> list[VersionRecord]:
    return list(
        VersionRecord.objects.filter(approved_at__isnull=False)
        .select_related("workflow", "approved_by")
        .order_by("-approved_at")[:10]
    )


@dataclass(frozen=True)
class Notice:
    """What an inbox button did, said inside the inbox it swaps in (htmx keeps no flash messages)."""

    text: str
    ok: bool


@require_POST
@team_only
def inbox_approve(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The inbox's Approve button: the record-approval service, then the inbox again without the
    record (htmx), or back to the dashboard with a message (a plain form post, without script).
    An operator is refused by the service (403), like on the record page."""
    record = get_object_or_404(VersionRecord, pk=pk)
    if not getattr(request, "htmx", False):
        return perform(
            request,
            lambda: services.approve_record(actor=request.user, record=record),
            success=f"{record.label} approved.",
            then=reverse("dashboard"),
        )
    try:
        services.approve_record(actor=request.user, record=record)
    except (Forbidden, NotAuthenticated) as exc:
        raise PermissionDenied(exc.message) from None
    except DomainError as exc:  # e.g. approved meanwhile by a colleague: it leaves the inbox all the same
        return _dashboard(request, Notice(problem_text(exc), ok=False))
    return _dashboard(request, Notice(f"{record.label} approved.", ok=True))


def _workflow(request: HttpRequest, slug: str) -> Workflow:
    visible = Workflow.objects.visible_to(request.user).with_pointers().select_related("approved_by")
    return get_object_or_404(with_pin(visible), slug=slug)


@require_GET
@team_only
def workflow_page(request: HttpRequest, slug: str) -> HttpResponse:
    workflow = _workflow(request, slug)
    versions = list(WorkflowVersion.objects.filter(workflow=workflow).select_related("published_by"))
    history = list(PointerMove.objects.for_workflow(workflow)[:50])
    canonical_on = _canonical_on(workflow, request.GET.get("canonical_on", ""))
    approved_records = list(
        VersionRecord.objects.filter(workflow=workflow, approved_at__isnull=False)
        .order_by("-number")
        .values("id", "label", "number")[:50]
    )
    pin = getattr(workflow, "production_pin", None)
    pinned = _name_pinned_records(history, approved_records, pin.record_id if pin else None)
    records = list(
        VersionRecord.objects.filter(workflow=workflow).select_related("annotated_by").order_by("-number")[:8]
    )
    context = {
        "workflow": workflow,
        "versions": versions,
        "history": history,
        "approval_impact": approval_impact(workflow),  # what approving archives, pins and records too
        "drafts": list(Draft.objects.open().filter(workflow=workflow).select_related("author", "based_on")[:20]),
        "records": records,
        "approved_records": approved_records,
        "drift": workflow_drift(workflow),
        "pin": pin,
        "pinned_record": pinned.get(str(pin.record_id)) if pin else None,
        "channels": Channel.values,
        "directions": list(Workflow.objects.filter(derived_from=workflow).order_by("slug")),
        "canonical_on": canonical_on,
        "batches": batches_of(workflow=workflow),
        # The contact sheet form starts from the inputs of the latest record, when there is one.
        "sheet_inputs": json.dumps(records[0].inputs) if records else "{}",
        "just_published": _just_published(request, workflow, versions),
    }
    return page(request, "floniks/workflow.html", context)


def _just_published(request: HttpRequest, workflow: Workflow, versions: list[WorkflowVersion]) -> Any:
    """The version the draft page's publish form just made (`?published=<version>`, where it sends
    the publisher), so the page can say whether it became canonical and, if not, who promotes it.
    Only for the one who published it; taken from the versions already listed (no query)."""
    wanted = request.GET.get("published", "")
    return next((v for v in versions if v.version == wanted and v.published_by_id == request.user.pk), None)


def _name_pinned_records(
    history: list[PointerMove], approved: list[dict[str, Any]], pinned_now: uuid.UUID | None
) -> dict[str, dict[str, Any]]:
    """Give each production-pin move the records it moved from and to (`from_record`, `to_record`:
    id, label, number), so the history names and links them instead of showing their ids; the
    answer (by id) names the record of the current pin too.

    Only an approved record of this workflow can be pinned (runs_app.services._pin) and approval is
    never undone, so the approved records the page lists already hold them; one lookup fetches any
    pinned record older than that list."""
    pins = [m for m in history if m.pointer == Pointer.PRODUCTION_PIN]
    known = {str(r["id"]): r for r in approved}
    wanted = {value for m in pins for value in (m.from_value, m.to_value) if value}
    if pinned_now is not None:
        wanted.add(str(pinned_now))
    missing = [value for value in wanted - known.keys() if _is_uuid(value)]
    if missing:
        for r in VersionRecord.objects.filter(pk__in=missing).values("id", "label", "number"):
            known[str(r["id"])] = r
    for m in pins:
        m.from_record, m.to_record = known.get(m.from_value), known.get(m.to_value)  # type: ignore[attr-defined]
    return known


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _canonical_on(workflow: Workflow, day: str) -> dict[str, Any] | None:
    """ "What was canonical on 1 June?" — the version in force at the end of that day (UTC)."""
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        return None
    end = dt.datetime.combine(date, dt.time.max, tzinfo=dt.UTC)
    version = PointerMove.objects.canonical_at(workflow, end)
    runs = (
        Run.objects.filter(workflow=workflow, version__version=version, created_at__date=date).count() if version else 0
    )
    return {"day": date, "version": version, "runs": runs}


@require_POST
@team_only
def workflow_action(request: HttpRequest, slug: str, action: str) -> HttpResponse:
    """Every button on the workflow page posts here; each action is one service call."""
    workflow = _workflow(request, slug)
    found = WORKFLOW_ACTIONS.get(action)
    if found is None:
        raise Http404
    return perform(
        request,
        lambda: found.call(request, workflow),
        success=found.success,
        then=reverse("workflow", args=[workflow.slug]),
    )
