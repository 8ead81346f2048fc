"""Pages for discovery batches (DESIGN §15) and the team's run queue, and the run-again, retry and
discard buttons of run and record pages (issue 15)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any

import django_filters
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError, Problem, ValidationFailed
from core.ui import page, perform, problem_text, problems_by_path, refuse, succeed, team_only, wants_fragment
from runs_app import services
from runs_app.models import (
    ANNOTATION_MAX_LENGTH,
    LABEL_MAX_LENGTH,
    Batch,
    Run,
    RunStatus,
    RunStep,
    StepStatus,
    WorkerHeartbeat,
    steps_in_order,
)
from runs_app.sweep import alive_since
from templates_app.definition import STEP_KINDS
from templates_app.models import Workflow, WorkflowVersion

QUEUE_PAGE = 50
# What the run form's Explore offers to sweep: parameters typed in a text box as comma-separated values.
SWEEPABLE_TYPES = ("number", "integer", "choice")


# --- the run form's Explore ------------------------------------------------------------------


def sweepable(version: WorkflowVersion) -> list[str]:
    """`<step>.<param>` of every parameter of the version's own steps that the Explore form can sweep."""
    found = []
    for step in version.definition.get("steps") or []:
        kind = STEP_KINDS.get(step.get("kind", ""))
        if kind is None:
            continue
        found += [f"{step['id']}.{name}" for name, p in kind.params.items() if p.type in SWEEPABLE_TYPES]
    return found


def _typed(text: str) -> Any:
    """One comma-separated value as typed: a number when it reads as one (JSON), else the text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, float, str)) and not isinstance(value, bool) else text


def explore_request(post: Any) -> tuple[Any, dict[str, list[Any]] | None]:
    """The Explore form's fields → start_batch's `count` and `sweep` (one or two parameters)."""
    problems = []
    count: Any = None
    raw = post.get("count", "").strip()
    if raw:
        try:
            count = int(raw)
        except ValueError:
            problems.append(Problem("invalid_count", "count", f"'{raw}' is not a whole number."))
    sweep: dict[str, list[Any]] = {}
    for i in (1, 2):
        key, values = post.get(f"sweep_key_{i}", "").strip(), post.get(f"sweep_values_{i}", "").strip()
        if key and values:
            sweep[key] = [_typed(v.strip()) for v in values.split(",") if v.strip()]
        elif values:
            problems.append(Problem("invalid_sweep", "sweep", "Choose the parameter to sweep."))
    if problems:
        raise ValidationFailed(problems)
    return count, (sweep or None)


# --- the batch page --------------------------------------------------------------------------


def _cell(run: Run) -> dict[str, Any]:
    """One variation of a batch as its cell shows it (its steps prefetched: no query)."""
    steps = list(run.steps.all())
    made = [s for s in steps if s.output_id]
    record = getattr(run, "record", None) if hasattr(run, "record") else None
    return {
        "run": run,
        "seeds": [(s.step_id, s.seed) for s in steps if s.seed is not None],
        "swept": sorted(run.swept.items()),
        "percent": round(run.progress * 100),
        "thumbnail": made[-1].output_id if made else None,
        "record": record,
    }


def _batch(request: HttpRequest, pk: uuid.UUID, only: list[str] | None = None) -> tuple[Batch, list[Run]]:
    batch = get_object_or_404(
        Batch.objects.visible_to(request.user).select_related("workflow", "version", "created_by"), pk=pk
    )
    # Its place in the whole batch (1-based), counted in the database: the poller asks for the live cells
    # only, and a cell numbered by its place in that answer would read #2 where the grid said #3.
    earlier = (
        Run.objects.filter(batch=OuterRef("batch"))
        .filter(Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), id__lt=OuterRef("id")))
        .order_by()
        .values("batch")
        .annotate(n=Count("pk"))
        .values("n")
    )
    runs = (
        Run.objects.filter(batch=batch)
        .annotate(batch_number=Coalesce(Subquery(earlier), 0) + 1)
        .select_related("record")
        .prefetch_related(steps_in_order())
    )
    if only is not None:
        runs = runs.filter(pk__in=only)
    return batch, list(runs.order_by("created_at", "id"))


def _live_ids(request: HttpRequest) -> list[str]:
    ids = []
    for value in request.GET.getlist("live"):
        try:
            ids.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return ids


@require_GET
@team_only
def batch_page(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Every variation in a grid. While some generate, one poller asks every 2 s for the cells still
    live (`?live=<run>…`) and swaps those in out of band; a cell that finished shows its annotation
    fields and is not asked for again, so what is typed there stays. 286 stops the poller."""
    if wants_fragment(request):
        batch, runs = _batch(request, pk, only=_live_ids(request))
        response = page(
            request, "floniks/_batch_cells.html", {"batch": batch, "cells": [_cell(r) for r in runs], "oob": True}
        )
        if not any(r.is_live for r in runs):
            response.status_code = 286  # htmx: stop polling (the cells in this answer are still swapped)
        return response
    batch, runs = _batch(request, pk)
    return _batch_response(request, batch, runs)


def _batch_response(
    request: HttpRequest,
    batch: Batch,
    runs: list[Run],
    *,
    errors: dict[str, dict[str, list[str]]] | None = None,
    status: int = 200,
) -> HttpResponse:
    cells = [_cell(r) for r in runs]
    for cell in cells:
        key = str(cell["run"].pk)
        cell["errors"] = (errors or {}).get(key, {})
        if errors is not None:  # sent back with problems: what was typed stays
            cell["label"] = request.POST.get(f"label_{key}", "")
            cell["annotation"] = request.POST.get(f"annotation_{key}", "")
            cell["kept"] = key in request.POST.getlist("keep")
            cell["ask_confirmation"] = "annotation" in cell["errors"]
    return page(
        request,
        "floniks/batch.html",
        {
            "batch": batch,
            "cells": cells,
            "live": any(r.is_live for r in runs),
            "finalizable": any(r.is_finalizable for r in runs),
            "limits": {"label": LABEL_MAX_LENGTH, "annotation": ANNOTATION_MAX_LENGTH},
        },
        status=status,
    )


@require_POST
@team_only
def batch_finalize(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The batch's form: finalise each selected cell with its own label and annotation (the same
    service, and the same mandatory annotation, as a single run), or discard every cell not selected."""
    batch, runs = _batch(request, pk)
    here = reverse("batch", args=[pk])
    kept = set(request.POST.getlist("keep"))
    if request.POST.get("action") == "discard":
        rest = [r for r in runs if r.awaits_annotation and str(r.pk) not in kept]
        for run in rest:
            try:
                services.discard_run(actor=request.user, run=run)
            except DomainError as exc:  # finalised or discarded meanwhile elsewhere: nothing to do
                if exc.status != 409:
                    return refuse(request, exc, here)
        return succeed(request, f"Discarded {len(rest)}; they stay here and can still be finalized.", here)
    chosen = [r for r in runs if str(r.pk) in kept]
    if not chosen:
        return refuse(
            request, ValidationFailed([Problem("nothing_selected", "keep", "Select the cells to keep.")]), here
        )
    errors: dict[str, dict[str, list[str]]] = {}
    done = 0
    for run in chosen:
        key = str(run.pk)
        try:
            services.finalize_run(
                actor=request.user,
                run=run,
                label=request.POST.get(f"label_{key}", ""),
                annotation=request.POST.get(f"annotation_{key}", ""),
                confirm_no_annotation=request.POST.get(f"confirm_{key}") == "on",
            )
        except DomainError as exc:
            found = problems_by_path(exc.problems)
            errors[key] = found if set(found) <= {"label", "annotation"} else {"": [problem_text(exc)]}
        else:
            done += 1
    if errors:
        batch, runs = _batch(request, pk)
        return _batch_response(request, batch, runs, errors=errors, status=400)
    return succeed(request, f"Finalizing {done}: their version records are being written.", here)


# --- the team's run queue --------------------------------------------------------------------


class QueueFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    workflow = django_filters.CharFilter(field_name="workflow__slug")
    operator = django_filters.CharFilter(field_name="created_by__username")
    queue = django_filters.CharFilter(method="on_queue")

    class Meta:
        model = Run
        fields = ["status", "workflow", "operator", "queue"]

    def on_queue(self, queryset: QuerySet[Run], name: str, value: str) -> QuerySet[Run]:
        return queryset.filter(Exists(RunStep.objects.filter(run=OuterRef("pk"), queue=value)))


def queue_rows() -> QuerySet[Run]:
    """Runs as the queue lists them: `stale` (a step's worker lease ran out), `waiting_on` (the queue
    of its first step waiting for a worker) and `step_count`, in the same query."""
    now = timezone.now()
    expired = RunStep.objects.filter(run=OuterRef("pk"), status=StepStatus.RUNNING, lease_expires_at__lt=now)
    waiting = RunStep.objects.filter(run=OuterRef("pk"), status=StepStatus.QUEUED).order_by("index")
    running = RunStep.objects.filter(run=OuterRef("pk"), status=StepStatus.RUNNING).order_by("index")
    return (
        Run.objects.select_related("workflow", "version", "created_by")
        .defer("specification", "inputs", "drift_warnings", "version__definition")
        .annotate(
            stale=Exists(expired),
            waiting_on=Subquery(waiting.values("queue")[:1]),
            running_on=Subquery(running.values("queue")[:1]),
            running_step=Subquery(running.values("step_id")[:1]),
        )
    )


def _cursor(run: Run) -> str:
    return base64.urlsafe_b64encode(f"{run.created_at.isoformat()}|{run.pk}".encode()).decode()


def _after(qs: QuerySet[Run], cursor: str) -> QuerySet[Run]:
    """Keyset pagination, as the history's: deep pages cost the same as the first."""
    try:
        when, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        at, key = dt.datetime.fromisoformat(when), uuid.UUID(pk)
    except (ValueError, UnicodeDecodeError):
        return qs
    return qs.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=key))


def known_queues() -> list[str]:
    queues: dict[str, str] = settings.FLONIKS_PROVIDER_QUEUES
    return sorted({settings.FLONIKS_DEFAULT_QUEUE, *queues.values()})


@require_GET
@team_only
def queue_page(request: HttpRequest) -> HttpResponse:
    """Every run, newest first, filterable; how many steps wait on each queue; the workers alive from
    their heartbeats; runs whose worker's lease expired marked stale until the sweep sends them again."""
    runs = QueueFilter(request.GET, queryset=queue_rows(), request=request)
    qs = (runs.qs if runs.is_valid() else Run.objects.none()).order_by("-created_at", "-id")
    if cursor := request.GET.get("cursor"):
        qs = _after(qs, cursor)
    rows = list(qs[: QUEUE_PAGE + 1])
    more = len(rows) > QUEUE_PAGE
    rows = rows[:QUEUE_PAGE]
    next_url = None
    if more:
        params = request.GET.copy()
        params["cursor"] = _cursor(rows[-1])
        next_url = "?" + params.urlencode()
    counts = (
        RunStep.objects.filter(status__in=(StepStatus.QUEUED, StepStatus.RUNNING))
        .values("queue")
        .annotate(
            waiting=Count("pk", filter=Q(status=StepStatus.QUEUED)),
            running=Count("pk", filter=Q(status=StepStatus.RUNNING)),
        )
        .order_by("queue")
    )
    by_queue: dict[str, dict[str, Any]] = {c["queue"]: dict(c) for c in counts}
    empty = {"waiting": 0, "running": 0}
    queues = [
        {"name": q, **{k: by_queue.get(q, empty)[k] for k in empty}} for q in sorted({*known_queues(), *by_queue})
    ]
    since = alive_since()
    workers = list(WorkerHeartbeat.objects.order_by("-seen_at")[:100])  # the live ones, whatever died
    for w in workers:
        w.alive = w.seen_at >= since  # type: ignore[attr-defined]
    workers.sort(key=lambda w: (not w.alive, w.name))  # type: ignore[attr-defined]
    return page(
        request,
        "floniks/queue.html",
        {
            "runs": rows,
            "next_url": next_url,
            "filters": request.GET,
            "errors": runs.errors,
            "statuses": [(v, label, v == request.GET.get("status")) for v, label in RunStatus.choices],
            "queues": queues,
            "workers": workers,
            "workflows": list(Workflow.objects.order_by("slug").values_list("slug", flat=True)[:500]),
            "operators": list(
                get_user_model()
                .objects.filter(runs__isnull=False)
                .distinct()
                .order_by("username")
                .values_list("username", flat=True)[:200]
            ),
        },
        fragment="floniks/_queue_live.html",
    )


# --- buttons of run and record pages ---------------------------------------------------------


def _run(request: HttpRequest, pk: uuid.UUID) -> Run:
    return get_object_or_404(Run.objects.visible_to(request.user).select_related("workflow", "version"), pk=pk)


@require_POST
@team_only
def run_again(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    run = _run(request, pk)
    try:
        again = services.run_again(actor=request.user, run=run)
    except DomainError as exc:
        return refuse(request, exc, reverse("run", args=[pk]))
    return succeed(request, "Started again with the same version and inputs.", reverse("run", args=[again.pk]))


@require_POST
@team_only
def run_retry(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    run = _run(request, pk)
    try:
        retry = services.retry_run(actor=request.user, run=run)
    except DomainError as exc:
        return refuse(request, exc, reverse("run", args=[pk]))
    return succeed(
        request, "Retrying from the failed step; the steps that succeeded are reused.", reverse("run", args=[retry.pk])
    )


@require_POST
@team_only
def run_discard(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    run = _run(request, pk)
    return perform(
        request,
        lambda: services.discard_run(actor=request.user, run=run),
        success="Discarded: the run is kept and can still be finalized.",
        then=reverse("run", args=[pk]),
    )


def batches_of(workflow: Workflow | None = None, user: Any = None, limit: int = 10) -> list[Batch]:
    """Recent batches with their counts, for the workflow page and the dashboard (one query)."""
    qs = Batch.objects.for_list()
    if workflow is not None:
        qs = qs.filter(workflow=workflow)
    if user is not None:
        qs = qs.filter(created_by_id=user.pk)
    return list(qs.order_by("-created_at")[:limit])
