"""Pages for the workflow library, a workflow, its drafts and public manifests."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import jsonsafe
from core.errors import DomainError, ValidationFailed
from core.roles import Role
from core.ui import page, perform, problem_text, refuse, succeed, team_only
from runs_app import services as run_services
from runs_app.approval import approval_impact
from runs_app.drift import workflow_drift
from runs_app.models import Run, VersionRecord
from templates_app import limits, services
from templates_app.catalogue import Catalogue
from templates_app.models import (
    Channel,
    Draft,
    Lifecycle,
    PointerMove,
    Visibility,
    Workflow,
    WorkflowVersion,
)
from templates_app.tree import forest


@require_GET
@team_only
def library(request: HttpRequest) -> HttpResponse:
    q, lifecycle = request.GET.get("q", "").strip(), request.GET.get("lifecycle", "")
    everything = list(Workflow.objects.visible_to(request.user).with_pointers().order_by("slug"))
    shown = everything
    if q:
        needle = q.lower()
        shown = [w for w in shown if needle in f"{w.slug} {w.name} {w.description} {w.direction_label}".lower()]
    if lifecycle in Lifecycle.values:
        shown = [w for w in shown if w.lifecycle == lifecycle]
    shown_ids = {w.pk for w in shown}
    trees = [t for t in forest(everything) if any(n.workflow.pk in shown_ids for n in t.nodes)]
    return page(
        request,
        "floniks/library.html",
        {
            "workflows": shown,
            "trees": trees,
            "q": q,
            "lifecycle": lifecycle,
            "lifecycles": Lifecycle.values,
        },
        fragment="floniks/_library_results.html",
    )


@require_http_methods(["GET", "POST"])
@team_only
def workflow_new(request: HttpRequest) -> HttpResponse:
    values = {"slug": "", "name": "", "description": ""}
    error = ""
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in values}
        try:
            workflow = services.create_workflow(actor=request.user, **values)
        except DomainError as exc:
            error = problem_text(exc)
        else:
            return HttpResponseRedirect(reverse("workflow", args=[workflow.slug]))
    return page(request, "floniks/workflow_new.html", {"values": values, "error": error}, status=400 if error else 200)


def _workflow(request: HttpRequest, slug: str) -> Workflow:
    return get_object_or_404(
        Workflow.objects.visible_to(request.user).with_pointers().select_related("approved_by"), slug=slug
    )


@require_GET
@team_only
def workflow_page(request: HttpRequest, slug: str) -> HttpResponse:
    workflow = _workflow(request, slug)
    versions = list(WorkflowVersion.objects.filter(workflow=workflow).select_related("published_by"))
    siblings = []
    if workflow.derived_from_id:
        siblings = list(
            Workflow.objects.select_related("canonical_version")
            .filter(derived_from_id=workflow.derived_from_id)
            .exclude(pk=workflow.pk)
            .exclude(lifecycle=Lifecycle.ARCHIVED)
            .order_by("slug")
        )
    history = list(PointerMove.objects.for_workflow(workflow)[:50])
    canonical_on = _canonical_on(workflow, request.GET.get("canonical_on", ""))
    approved_records = list(
        VersionRecord.objects.filter(workflow=workflow, approved_at__isnull=False)
        .order_by("-number")
        .values("id", "label")[:50]
    )
    context = {
        "workflow": workflow,
        "versions": versions,
        "history": history,
        "siblings": siblings,
        "drafts": list(Draft.objects.open().filter(workflow=workflow).select_related("author", "based_on")[:20]),
        "records": list(
            VersionRecord.objects.filter(workflow=workflow).select_related("annotated_by").order_by("-number")[:8]
        ),
        "approved_records": approved_records,
        "drift": workflow_drift(workflow),
        "pin": getattr(workflow, "production_pin", None),
        "channels": Channel.values,
        "directions": list(Workflow.objects.filter(derived_from=workflow).order_by("slug")),
        "canonical_on": canonical_on,
        "approval_impact": approval_impact(workflow),  # issue 11: what approving archives, pins and records too
    }
    return page(request, "floniks/workflow.html", context)


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


WORKFLOW_ACTIONS: dict[str, tuple[Role, str]] = {
    "promote": (Role.MANAGER, "Canonical pointer moved."),
    "visibility": (Role.MANAGER, "Version is now public."),
    "channel": (Role.MANAGER, "Channel changed."),
    "approve": (Role.MANAGER, "Direction approved; its siblings are archived."),
    "archive": (Role.ADMIN, "Workflow archived."),
    "resurrect": (Role.ADMIN, "Workflow resurrected."),
    "mode": (Role.OPERATOR, "Mode switched."),
    "edit": (Role.OPERATOR, "Workflow saved."),
}


@require_POST
@team_only
def workflow_action(request: HttpRequest, slug: str, action: str) -> HttpResponse:
    """Every button on the workflow page posts here; each action is one service call."""
    workflow = _workflow(request, slug)
    if action not in WORKFLOW_ACTIONS:
        raise Http404
    here = reverse("workflow", args=[workflow.slug])
    post, actor = request.POST, request.user
    reason = post.get("reason", "")

    def version() -> WorkflowVersion:
        return get_object_or_404(WorkflowVersion, workflow=workflow, version=post.get("version", ""))

    def pin_record() -> VersionRecord | None:
        rid = post.get("pin_record", "")
        return get_object_or_404(VersionRecord, pk=rid, workflow=workflow) if rid else None

    calls = {
        "promote": lambda: services.promote_version(actor=actor, version=version(), reason=reason),
        "visibility": lambda: services.raise_visibility(
            actor=actor, version=version(), visibility=Visibility.PUBLIC, reason=reason
        ),
        "channel": lambda: services.set_channel(
            actor=actor, version=version(), channel=post.get("channel", ""), reason=reason
        ),
        "approve": lambda: services.approve_direction(actor=actor, workflow=workflow, reason=reason),
        "archive": lambda: services.archive_workflow(actor=actor, workflow=workflow, reason=reason),
        "resurrect": lambda: services.resurrect_workflow(actor=actor, workflow=workflow, reason=reason),
        "mode": lambda: run_services.set_workflow_mode(
            actor=actor, workflow=workflow, mode=post.get("mode", ""), pin_record=pin_record(), reason=reason
        ),
        "edit": lambda: services.update_workflow(
            actor=actor, workflow=workflow, name=post.get("name"), description=post.get("description")
        ),
    }
    return perform(request, calls[action], success=WORKFLOW_ACTIONS[action][1], then=here)


@require_POST
@team_only
def derive(request: HttpRequest, slug: str) -> HttpResponse:
    base = _workflow(request, slug)
    chosen = request.POST.get("version", "")
    version = get_object_or_404(WorkflowVersion, workflow=base, version=chosen) if chosen else None
    try:
        direction = services.derive_direction(
            actor=request.user,
            base=base,
            version=version,
            slug=request.POST.get("slug", "").strip(),
            name=request.POST.get("name", "").strip(),
            direction_label=request.POST.get("direction_label", ""),
        )
    except DomainError as exc:
        return refuse(request, exc, reverse("workflow", args=[slug]))
    draft = Draft.objects.filter(workflow=direction).first()
    target = reverse("draft", args=[draft.pk]) if draft else reverse("workflow", args=[direction.slug])
    return succeed(request, f"Direction {direction.direction_label} created from {base.slug}.", target)


@require_POST
@team_only
def draft_new(request: HttpRequest, slug: str) -> HttpResponse:
    workflow = _workflow(request, slug)
    base = workflow.canonical_version
    starter: dict[str, Any] = base.definition if base else {"inputs": {}, "steps": [], "outputs": {}}
    draft = services.save_draft(actor=request.user, workflow=workflow, definition=starter, based_on=base)
    return HttpResponseRedirect(reverse("draft", args=[draft.pk]))


def _draft(request: HttpRequest, pk: int) -> Draft:
    return get_object_or_404(
        Draft.objects.visible_to(request.user).select_related(
            "workflow__canonical_version", "author", "based_on", "published_version"
        ),
        pk=pk,
    )


def _parse(text: str) -> Any:
    return jsonsafe.loads(text)  # issue 11: bad, too deep or NUL-bearing JSON is a clear 400, never a 500


@require_http_methods(["GET", "POST"])
@team_only
def draft_editor(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _draft(request, pk)
    text = limits.editor_text(draft.definition)  # issue 11: stored data nested past the cap stays small
    error = ""
    if request.method == "POST":
        text = request.POST.get("definition", "")
        try:
            services.update_draft(actor=request.user, draft=draft, definition=_parse(text))
        except DomainError as exc:
            error = problem_text(exc)
        else:
            return succeed(request, "Draft saved.", reverse("draft", args=[draft.pk]))
    shown = _safe_parse(text) if request.method == "POST" else draft.definition  # stored data: no re-parse
    validation = services.validate_draft(draft=Draft(workflow=draft.workflow, definition=shown))
    return page(
        request,
        "floniks/draft.html",
        {
            "draft": draft,
            "text": text,
            "error": error,
            "validation": validation,
            "contract_changed": any(p.code == "contract_changed" for p in validation.problems),
            "channels": Channel.values,
        },
        status=400 if error else 200,
    )


def _safe_parse(text: str) -> Any:
    try:
        return _parse(text)
    except ValidationFailed:
        return None


@require_POST
@team_only
def draft_validate(request: HttpRequest, pk: int) -> HttpResponse:
    """Live validation of the editor's text as it is typed (an htmx fragment); nothing is saved."""
    draft = _draft(request, pk)
    text = request.POST.get("definition", "")
    try:
        definition = _parse(text)
    except ValidationFailed as exc:
        return page(
            request, "floniks/_validation.html", {"parse_error": exc.message}, fragment="floniks/_validation.html"
        )
    validation = services.validate_draft(
        draft=Draft(workflow=draft.workflow, definition=definition), catalogue=Catalogue.load()
    )
    return page(
        request,
        "floniks/_validation.html",
        {
            "validation": validation,
            "draft": draft,
            "contract_changed": any(p.code == "contract_changed" for p in validation.problems),
        },
        fragment="floniks/_validation.html",
    )


@require_POST
@team_only
def draft_publish(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _draft(request, pk)
    post = request.POST
    try:
        if "definition" in post:  # publish what is on screen, not an older save
            draft = services.update_draft(actor=request.user, draft=draft, definition=_parse(post["definition"]))
        version = services.publish_draft(
            actor=request.user,
            draft=draft,
            visibility=post.get("visibility", "internal"),
            channel=post.get("channel", "standard"),
            bump=post.get("bump") or None,
        )
    except DomainError as exc:
        return refuse(request, exc, reverse("draft", args=[pk]))
    return succeed(
        request, f"Published {version.version} ({version.bump}).", reverse("workflow", args=[draft.workflow.slug])
    )


@require_POST
@team_only
def draft_discard(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _draft(request, pk)
    return perform(
        request,
        lambda: services.discard_draft(actor=request.user, draft=draft),
        success="Draft discarded.",
        then=reverse("workflow", args=[draft.workflow.slug]),
    )


@require_POST
@team_only
def draft_spawn(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _draft(request, pk)
    try:
        sibling = services.spawn_sibling(
            actor=request.user,
            draft=draft,
            slug=request.POST.get("slug", "").strip(),
            name=request.POST.get("name", "").strip(),
        )
    except DomainError as exc:
        return refuse(request, exc, reverse("draft", args=[pk]))
    new_draft = Draft.objects.filter(workflow=sibling).first()
    return succeed(
        request,
        f"Sibling workflow {sibling.slug} created.",
        reverse("draft", args=[new_draft.pk]) if new_draft else reverse("workflow", args=[sibling.slug]),
    )


@require_GET
def manifest_page(request: HttpRequest, manifest_hash: str) -> HttpResponse:
    """The public record of what produced an artifact: readable without signing in for public versions."""
    versions = list(
        WorkflowVersion.objects.visible_to(request.user)
        .filter(manifest_hash=manifest_hash)
        .select_related("workflow", "published_by")
        .order_by("published_at")
    )
    if not versions:
        raise Http404
    return page(
        request,
        "floniks/manifest.html",
        {
            "versions": versions,
            "manifest_hash": manifest_hash,
            "pretty": json.dumps(json.loads(versions[0].manifest), indent=2),
        },
    )


@require_GET
def public_versions(request: HttpRequest) -> HttpResponse:
    """Public versions for anyone: the front door for visitors without a role."""
    versions = list(
        WorkflowVersion.objects.filter(visibility=Visibility.PUBLIC)
        .select_related("workflow")
        .order_by("-published_at")[:100]
    )
    return page(request, "floniks/public.html", {"versions": versions})
