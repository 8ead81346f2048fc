"""Pages for the workflow library, drafts and public manifests, and the templates' buttons
of the workflow page (the page itself shows runs too: composition.pages)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import jsonsafe
from core.errors import DomainError, Problem, ValidationFailed
from core.ui import page, perform, problem_text, refuse, succeed, team_only
from templates_app import builder, comfyui_import, limits, services
from templates_app.catalogue import Catalogue
from templates_app.diff import diff_versions
from templates_app.models import (
    BUMP_MEANING,
    VERSION_MESSAGE_MAX,
    Channel,
    Draft,
    Lifecycle,
    Visibility,
    Workflow,
    WorkflowVersion,
)
from templates_app.step_graph import layout as step_graph
from templates_app.tree import forest


@require_GET
@team_only
def library(request: HttpRequest) -> HttpResponse:
    q, lifecycle = request.GET.get("q", "").strip(), request.GET.get("lifecycle", "")
    visible = Workflow.objects.visible_to(request.user).with_pointers().order_by("slug")
    everything = list(visible)
    shown = everything
    if q or lifecycle in Lifecycle.values:
        matching = visible.search(q)
        if lifecycle in Lifecycle.values:
            matching = matching.filter(lifecycle=lifecycle)
        ids = set(matching.values_list("pk", flat=True))
        shown = [w for w in everything if w.pk in ids]
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
    """A new workflow from a starting template (its first draft is seeded from it), or a direction of an
    existing workflow (derived from its canonical version)."""
    values = {"slug": "", "name": "", "description": "", "starter": "text_to_image", "base": "", "direction_label": ""}
    error = ""
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in values}
        try:
            target = _create_from_starter(request, values)
        except DomainError as exc:
            error = problem_text(exc)
        else:
            return HttpResponseRedirect(target)
    bases = list(
        Workflow.objects.visible_to(request.user).filter(canonical_version__isnull=False).order_by("slug").only("slug")
    )
    return page(
        request,
        "floniks/workflow_new.html",
        {"values": values, "error": error, "starters": builder.STARTERS, "bases": bases},
        status=400 if error else 200,
    )


def _create_from_starter(request: HttpRequest, values: dict[str, str]) -> str:
    """The one service call the chosen starting point asks for; where to go next (the first draft's form)."""
    if values["starter"] == "direction":
        base = Workflow.objects.visible_to(request.user).filter(slug=values["base"]).first()
        if base is None:  # said on the form, like any other missing field, not a 404 page
            raise ValidationFailed([Problem("required", "base", "Choose the workflow to take a direction of.")])
        direction = services.derive_direction(
            actor=request.user,
            base=base,
            slug=values["slug"],
            name=values["name"],
            direction_label=values["direction_label"],
        )
        draft = Draft.objects.filter(workflow=direction).first()
        return reverse("draft-form", args=[draft.pk]) if draft else reverse("workflow", args=[direction.slug])
    starter = builder.starter_definition(values["starter"], Catalogue.load())
    _workflow, draft = services.create_workflow_with_draft(
        actor=request.user,
        slug=values["slug"],
        name=values["name"],
        description=values["description"],
        definition=starter,
    )
    return reverse("draft-form", args=[draft.pk])


def visible_workflow(request: HttpRequest, slug: str) -> Workflow:
    return get_object_or_404(
        Workflow.objects.visible_to(request.user).with_pointers().select_related("approved_by"), slug=slug
    )


@dataclass(frozen=True)
class WorkflowAction:
    """One button of the workflow page: a service call on the workflow (from the POST) and what success says."""

    call: Callable[[HttpRequest, Workflow], object]
    success: str


def _version(request: HttpRequest, workflow: Workflow) -> WorkflowVersion:
    return get_object_or_404(WorkflowVersion, workflow=workflow, version=request.POST.get("version", ""))


def _reason(request: HttpRequest) -> str:
    return request.POST.get("reason", "")


# The templates' half of the workflow page's buttons (composition.pages routes them); each checks its role itself.
WORKFLOW_ACTIONS: dict[str, WorkflowAction] = {
    "promote": WorkflowAction(
        lambda r, w: services.promote_version(actor=r.user, version=_version(r, w), reason=_reason(r)),
        "Canonical pointer moved.",
    ),
    "visibility": WorkflowAction(
        lambda r, w: services.raise_visibility(
            actor=r.user, version=_version(r, w), visibility=Visibility.PUBLIC, reason=_reason(r)
        ),
        "Version is now public.",
    ),
    "channel": WorkflowAction(
        lambda r, w: services.set_channel(
            actor=r.user, version=_version(r, w), channel=r.POST.get("channel", ""), reason=_reason(r)
        ),
        "Channel changed.",
    ),
    "approve": WorkflowAction(
        lambda r, w: services.approve_direction(actor=r.user, workflow=w, reason=_reason(r)),
        "Direction approved; its siblings are archived.",
    ),
    "archive": WorkflowAction(
        lambda r, w: services.archive_workflow(actor=r.user, workflow=w, reason=_reason(r)), "Workflow archived."
    ),
    "resurrect": WorkflowAction(
        lambda r, w: services.resurrect_workflow(actor=r.user, workflow=w, reason=_reason(r)),
        "Workflow resurrected.",
    ),
    "edit": WorkflowAction(
        lambda r, w: services.update_workflow(
            actor=r.user, workflow=w, name=r.POST.get("name"), description=r.POST.get("description")
        ),
        "Workflow saved.",
    ),
}


@require_POST
@team_only
def derive(request: HttpRequest, slug: str) -> HttpResponse:
    base = visible_workflow(request, slug)
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
    workflow = visible_workflow(request, slug)
    base = workflow.canonical_version
    starter: dict[str, Any] = base.definition if base else {"inputs": {}, "steps": [], "outputs": {}}
    draft = services.save_draft(actor=request.user, workflow=workflow, definition=starter, based_on=base)
    return HttpResponseRedirect(reverse("draft", args=[draft.pk]))


@require_POST
@team_only
def draft_import_comfyui(request: HttpRequest, slug: str) -> HttpResponse:
    """The workflow page's "Import from ComfyUI": a dropped PNG or JSON file, or a pasted graph, becomes a
    draft with a `comfyui` step (opened in the editor); a file without a graph is said on the workflow page."""
    workflow = visible_workflow(request, slug)
    upload = request.FILES.get("file")
    pasted = request.POST.get("graph", "").strip()
    try:
        if upload is not None:
            data = comfyui_import.read_bounded(upload)
            imported = services.import_comfyui_draft(actor=request.user, workflow=workflow, data=data)
        else:
            imported = services.import_comfyui_draft(actor=request.user, workflow=workflow, graph=pasted or None)
    except DomainError as exc:
        return refuse(request, exc, reverse("workflow", args=[slug]) + "#import-comfyui")
    said = "; ".join(imported.notes[:12])
    return succeed(
        request,
        f"Imported the ComfyUI graph into draft #{imported.draft.pk}. {said}.",
        reverse("draft", args=[imported.draft.pk]),
    )


def _draft(request: HttpRequest, pk: int) -> Draft:
    return get_object_or_404(
        Draft.objects.visible_to(request.user).select_related(
            "workflow__canonical_version", "author", "based_on", "published_version"
        ),
        pk=pk,
    )


def _parse(text: str) -> Any:
    return jsonsafe.loads(text)  # bad, too deep or NUL-bearing JSON is a clear 400, never a 500


@require_http_methods(["GET", "POST"])
@team_only
def draft_editor(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _draft(request, pk)
    text = limits.editor_text(draft.definition)  # stored data nested past the cap stays small
    error = ""
    if request.method == "POST":
        text = request.POST.get("definition", "")
        try:
            services.update_draft(actor=request.user, draft=draft, definition=_parse(text))
        except DomainError as exc:
            error = problem_text(exc)
        else:
            then = "draft-form" if request.POST.get("then") == "form" else "draft"  # the switch saves first
            return succeed(request, "Draft saved.", reverse(then, args=[draft.pk]))
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
            "graph": step_graph(shown),
            "contract_changed": any(p.code == "contract_changed" for p in validation.problems),
            "channels": Channel.values,
            "message_max": VERSION_MESSAGE_MAX,
        },
        status=400 if error else 200,
    )


def _safe_parse(text: str) -> Any:
    try:
        return _parse(text)
    except ValidationFailed:
        return None


@require_http_methods(["GET", "POST"])
@team_only
def draft_form(request: HttpRequest, pk: int) -> HttpResponse:
    """The form view of a draft. Saving ("save", or "json" to switch to the JSON view) goes through the
    same service as the JSON editor; add/remove/move/kind changes re-render from the posted form unsaved."""
    draft = _draft(request, pk)
    catalogue = Catalogue.load()
    definition: Any = draft.definition
    error = ""
    if request.method == "POST":
        definition = builder.form_to_definition(request.POST)
        op = request.POST.get("op", "save")
        if op in ("save", "json"):
            try:
                services.update_draft(actor=request.user, draft=draft, definition=definition)
            except DomainError as exc:
                error = problem_text(exc)
            else:
                return succeed(request, "Draft saved.", reverse("draft" if op == "json" else "draft-form", args=[pk]))
        else:
            definition = builder.apply_op(definition, op)
    validation = services.validate_draft(
        draft=Draft(workflow=draft.workflow, definition=definition), catalogue=catalogue
    )
    return page(
        request,
        "floniks/draft_form.html",
        {
            "draft": draft,
            "form": builder.build(definition, catalogue, validation.problems),
            "error": error,
            "validation": validation,
            "graph": step_graph(definition),
            "contract_changed": any(p.code == "contract_changed" for p in validation.problems),
            "channels": Channel.values,
            "message_max": VERSION_MESSAGE_MAX,
        },
        fragment="floniks/_builder.html",
        status=400 if error else 200,
    )


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
            "graph": step_graph(definition),
            "oob": True,  # the step graph follows the text too
            "contract_changed": any(p.code == "contract_changed" for p in validation.problems),
        },
        fragment="floniks/_validation.html",
    )


@require_POST
@team_only
def draft_form_validate(request: HttpRequest, pk: int) -> HttpResponse:
    """Live validation of the form view as it is filled in (an htmx fragment): the same gate as the JSON
    editor's, its problems put back in each field's slot out of band (the fields are not re-rendered, so
    focus and the caret stay), and the step graph redrawn. Nothing is saved."""
    draft = _draft(request, pk)
    catalogue = Catalogue.load()
    definition = builder.form_to_definition(request.POST)
    validation = services.validate_draft(
        draft=Draft(workflow=draft.workflow, definition=definition), catalogue=catalogue
    )
    return page(
        request,
        "floniks/_form_validation.html",
        {
            "validation": validation,
            "draft": draft,
            "form": builder.build(definition, catalogue, validation.problems),
            "graph": step_graph(definition),
            "contract_changed": any(p.code == "contract_changed" for p in validation.problems),
        },
        fragment="floniks/_form_validation.html",
    )


@require_POST
@team_only
def draft_publish(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _draft(request, pk)
    post = request.POST
    try:
        if "definition" in post:  # publish what is on screen, not an older save
            draft = services.update_draft(actor=request.user, draft=draft, definition=_parse(post["definition"]))
        elif "steps-count" in post:  # the same, from the form view
            draft = services.update_draft(actor=request.user, draft=draft, definition=builder.form_to_definition(post))
        version = services.publish_draft(
            actor=request.user,
            draft=draft,
            visibility=post.get("visibility", "internal"),
            channel=post.get("channel", "standard"),
            bump=post.get("bump") or None,
            message=post.get("message", ""),
        )
    except DomainError as exc:
        return refuse(request, exc, reverse("draft", args=[pk]))
    # The workflow page names the version just published and says whether it became canonical and,
    # if not, who promotes it: publishing moves the canonical pointer only for a workflow's first version.
    then = f"{reverse('workflow', args=[draft.workflow.slug])}?{urlencode({'published': version.version})}"
    return succeed(request, f"Published {version.version} ({version.bump}).", then)


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


@require_GET
@team_only
def version_diff(request: HttpRequest, slug: str, version: str) -> HttpResponse:
    """Two versions compared path by path, with the bump class the change implies (the publish gate's):
    from this version to `?to=` (the canonical version when not given)."""
    workflow = visible_workflow(request, slug)
    versions = WorkflowVersion.objects.visible_to(request.user).filter(workflow=workflow)
    before = get_object_or_404(versions, version=version)
    wanted = request.GET.get("to", "")
    after = get_object_or_404(versions, version=wanted) if wanted else workflow.canonical_version
    if after is None:
        raise Http404("This workflow has no canonical version to compare with.")
    diff = diff_versions(before, after)
    return page(
        request,
        "floniks/version_diff.html",
        {
            "workflow": workflow,
            "before": before,
            "after": after,
            "diff": diff,
            "bump_meaning": BUMP_MEANING.get(diff.bump, ""),
            "versions": list(versions.order_by("-sequence").values_list("version", flat=True)),
        },
    )
