"""Pages for running a workflow, the live run and its annotation form, version
history, a record and comparing two records, and the runs' button of the workflow
page (switching its mode)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from core.errors import DomainError, Problem, ValidationFailed
from core.throttling import ClientScopedRateThrottle
from core.ui import page, perform, problem_text, problems_by_path, refuse, succeed, team_only
from runs_app import bundles, services, verification
from runs_app.compare import PHASH_NEAR, SSIM_NEAR, artifacts_to_read, compare_records, difference_image
from runs_app.drift import accepted_drift, blocks_production, model_notes, pin_drift, record_drift
from runs_app.filters import RecordFilter
from runs_app.models import (
    ANNOTATION_MAX_LENGTH,
    LABEL_MAX_LENGTH,
    Artifact,
    Run,
    RunStep,
    VersionRecord,
    steps_in_order,
    with_pin,
)
from runs_app.provenance import verify_upload
from runs_app.queue_pages import explore_request, sweepable
from runs_app.spec import blocks_reproduction
from runs_app.storage import MAX_UPLOAD_BYTES, read_artifact, read_upload
from templates_app.catalogue import Catalogue
from templates_app.models import Mode, ModelFamily, Workflow, WorkflowVersion
from templates_app.views import WorkflowAction

HISTORY_PAGE = 50
HISTORY_GRID = "grid"  # ?view=grid: the history as a grid of images (the table otherwise)


def _switch_mode(request: HttpRequest, workflow: Workflow) -> Workflow:
    record_id = request.POST.get("pin_record", "")
    record = get_object_or_404(VersionRecord, pk=record_id, workflow=workflow) if record_id else None
    return services.set_workflow_mode(
        actor=request.user,
        workflow=workflow,
        mode=request.POST.get("mode", ""),
        pin_record=record,
        reason=request.POST.get("reason", ""),
    )


# The runs' half of the workflow page's buttons (composition.pages routes them).
WORKFLOW_ACTIONS = {"mode": WorkflowAction(_switch_mode, "Mode switched.")}


def _typed_inputs(request: HttpRequest, contract: dict[str, Any]) -> dict[str, Any]:
    """Form fields → run inputs, typed by the input contract; images are uploaded first."""
    values: dict[str, Any] = {}
    problems = []
    for name, spec in contract.items():
        typ, raw = spec.get("type"), request.POST.get(f"input_{name}", "").strip()
        try:
            if typ == "image":
                upload = request.FILES.get(f"input_{name}")
                if upload is not None:
                    values[name] = services.upload_artifact(actor=request.user, data=read_upload(upload)).sha256
                elif raw:
                    values[name] = raw
            elif typ == "boolean":
                values[name] = request.POST.get(f"input_{name}") == "on"
            elif raw:
                values[name] = int(raw) if typ == "integer" else float(raw) if typ == "number" else raw
        except ValueError:
            problems.append(Problem("invalid_input", f"inputs.{name}", f"'{raw}' is not a {typ}."))
        except ValidationFailed as exc:
            problems.extend(Problem(p.code, f"inputs.{name}", p.message) for p in exc.problems)
    if problems:
        raise ValidationFailed(problems)
    return values


def _form_fields(
    contract: dict[str, Any], sent: QueryDict | None, errors: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """The run form's fields. A fresh form shows each input's declared default, so what the operator
    sees is what the run gets (a checkbox left unticked sends false, never "use the default"); a form
    sent back with errors shows what was sent. `description` may be any JSON value (docs/definitions.md)."""
    fields = []
    for name, spec in contract.items():
        default = spec.get("default")
        if sent is not None:
            value, checked = sent.get(f"input_{name}", ""), sent.get(f"input_{name}") == "on"
        else:
            value, checked = ("" if default is None else str(default)), default is True
        description = spec.get("description")
        fields.append(
            {
                "name": name,
                "type": spec.get("type"),
                # A required input with a default may be left empty: the run takes the default.
                "needs_value": spec.get("required", False) and default is None,
                "value": value,
                "checked": checked,
                "errors": errors.get(f"inputs.{name}", []),
                "help": description
                if isinstance(description, str)
                else ("" if description is None else json.dumps(description, ensure_ascii=False)),
            }
        )
    return fields


@require_http_methods(["GET", "POST"])
@team_only
def run_form(request: HttpRequest, slug: str) -> HttpResponse:
    workflow = get_object_or_404(with_pin(Workflow.objects.with_pointers()), slug=slug)
    versions = list(WorkflowVersion.objects.filter(workflow=workflow).order_by("-sequence"))
    chosen = request.POST.get("version") or request.GET.get("version")
    version = next((v for v in versions if v.version == chosen), workflow.canonical_version)
    if version is None:
        return refuse(
            request, DomainError("Publish a version before running this workflow."), reverse("workflow", args=[slug])
        )
    pin = getattr(workflow, "production_pin", None)
    errors: dict[str, list[str]] = {}
    refused_with = 400
    if request.method == "POST":
        try:
            inputs = _typed_inputs(request, version.definition.get("inputs") or {})
            if request.POST.get("explore"):  # DESIGN §15: a batch of seeds, or a sweep
                count, sweep = explore_request(request.POST)
                batch = services.start_batch(
                    actor=request.user, workflow=workflow, version=version, inputs=inputs, count=count, sweep=sweep
                )
                return HttpResponseRedirect(reverse("batch", args=[batch.pk]))
            run = services.start_run(
                actor=request.user,
                workflow=workflow,
                version=version,
                inputs=inputs,
                mode=request.POST.get("mode") or None,
                accept_model_drift=request.POST.get("accept_model_drift") == "1",
            )
        except DomainError as exc:
            errors = problems_by_path(exc.problems) or {"": [problem_text(exc)]}
            refused_with = exc.status  # e.g. 429 quota_exceeded, 409 workflow_archived
            # Problems not about an input field (a step's pixels, an archived sub-workflow) go on top.
            input_paths = {f"inputs.{n}" for n in version.definition.get("inputs") or {}}
            if stray := [m for path, found in errors.items() if path not in input_paths for m in found]:
                errors[""] = stray
        else:
            return HttpResponseRedirect(reverse("run", args=[run.pk]))
    # Read for display only, once the form is shown (start_run decides on a fresh catalogue of its own).
    catalogue = Catalogue.cached()
    drift = pin_drift(pin, version, catalogue) if workflow.mode == Mode.PRODUCTION else []
    drift_blocks = any(blocks_production(w) for w in drift)
    sent = request.POST if request.method == "POST" else None
    fields = _form_fields(version.definition.get("inputs") or {}, sent, errors)
    return page(
        request,
        "floniks/run_form.html",
        {
            "workflow": workflow,
            "version": version,
            "versions": versions,
            "fields": fields,
            "drift": drift,
            "model_notes": model_notes(version, catalogue),
            "drift_blocks": drift_blocks,
            "errors": errors,
            "archived": workflow.is_archived,
            "pin": pin,
            "sweepable": sweepable(version),
            "explore": request.POST if request.method == "POST" and request.POST.get("explore") else {},
            # The two sweep rows as sent, so a refused Explore shows what was chosen and typed.
            "sweeps": [
                {
                    "i": i,
                    "key": sent.get(f"sweep_key_{i}", "") if sent else "",
                    "values": sent.get(f"sweep_values_{i}", "") if sent else "",
                }
                for i in (1, 2)
            ],
            # Problems not about an input field, shown once on top (an input's own problems sit under it).
            "top_errors": errors.get("", []),
        },
        status=refused_with if errors else 200,
    )


def _run(request: HttpRequest, pk: uuid.UUID) -> Run:
    return get_object_or_404(Run.objects.visible_to(request.user).with_detail().select_related("reproduces"), pk=pk)


def _run_context(run: Run, **extra: Any) -> dict[str, Any]:
    return {
        "run": run,
        "steps": list(run.steps.all()),
        "gates": run.gates_reached(),
        "outputs": run.output_files(),
        "percent": round(run.progress * 100),
        "record": getattr(run, "record", None) if hasattr(run, "record") else None,
        "check": getattr(run, "reproduction_check", None) if run.reproduces_id else None,
        "limits": {"label": LABEL_MAX_LENGTH, "annotation": ANNOTATION_MAX_LENGTH},
        **extra,
    }


@require_GET
@team_only
def run_page(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    # The live block of a run awaiting its annotation asks whether the run is still as it shows it
    # (_run_live.html): while it is, nothing to swap (204), so the form being typed in stays.
    seen = request.GET.get("seen")
    if (
        getattr(request, "htmx", False)
        and seen
        and Run.objects.visible_to(request.user).filter(pk=pk, status=seen).exists()
    ):
        response = HttpResponse(status=204)
        patch_vary_headers(response, ("HX-Request",))
        return response
    run = _run(request, pk)
    context = _run_context(run)
    if getattr(request, "htmx", False) and context["record"] is not None and request.GET.get("follow"):
        return HttpResponseClientRedirect(reverse("record", args=[context["record"].pk]))
    return page(request, "floniks/run.html", context, fragment="floniks/_run_live.html")


@require_POST
@team_only
def run_finalize(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The finalisation gate. A blank annotation is refused unless the confirmation box is ticked."""
    run = _run(request, pk)
    label, annotation = request.POST.get("label", ""), request.POST.get("annotation", "")
    confirmed = request.POST.get("confirm_no_annotation") == "on"
    try:
        services.finalize_run(
            actor=request.user, run=run, label=label, annotation=annotation, confirm_no_annotation=confirmed
        )
    except DomainError as exc:
        errors = problems_by_path(exc.problems)
        context = _run_context(
            run,
            form_errors=errors,
            label=label,
            annotation=annotation,
            ask_confirmation="annotation" in errors or confirmed,
            general_error="" if set(errors) <= {"label", "annotation"} else problem_text(exc),
        )
        return page(request, "floniks/run.html", context, fragment="floniks/_run_live.html", status=400)
    return HttpResponseRedirect(reverse("run", args=[pk]) + "?follow=1")


@require_POST
@team_only
def run_cancel(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    run = _run(request, pk)
    return perform(
        request,
        lambda: services.cancel_run(actor=request.user, run=run),
        success="Run cancelled.",
        then=reverse("run", args=[pk]),
    )


@require_POST
@team_only
def run_continue(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    run = _run(request, pk)
    return perform(
        request,
        lambda: services.continue_run(actor=request.user, run=run),
        success="Continuing: the next steps are on their way.",
        then=reverse("run", args=[pk]),
    )


# --- history, records, compare --------------------------------------------------------------


def _cursor(record: VersionRecord) -> str:
    return base64.urlsafe_b64encode(f"{record.created_at.isoformat()}|{record.pk}".encode()).decode()


def _after(qs: QuerySet[VersionRecord], cursor: str) -> QuerySet[VersionRecord]:
    """Keyset pagination: rows strictly older than the cursor, so deep pages cost the same as the first."""
    try:
        when, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        at, key = dt.datetime.fromisoformat(when), uuid.UUID(pk)
    except (ValueError, UnicodeDecodeError):
        return qs
    return qs.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=key))


@require_GET
@team_only
def history(request: HttpRequest) -> HttpResponse:
    records = RecordFilter(request.GET, queryset=VersionRecord.objects.for_list(), request=request)
    # An invalid filter shows its error and no rows, rather than silently listing everything.
    qs = (records.qs if records.is_valid() else VersionRecord.objects.none()).order_by("-created_at", "-id")
    if cursor := request.GET.get("cursor"):
        qs = _after(qs, cursor)
    rows = list(qs[: HISTORY_PAGE + 1])
    more = len(rows) > HISTORY_PAGE
    rows = rows[:HISTORY_PAGE]
    params = request.GET.copy()
    params.pop("cursor", None)
    next_url = None
    if more:
        params["cursor"] = _cursor(rows[-1])
        next_url = "?" + params.urlencode()
    # The grid and the table are two views of the same rows: same filters, same keyset page. The
    # toggle keeps the filters and the cursor, so switching shows the records just seen.
    grid = request.GET.get("view") == HISTORY_GRID
    views = request.GET.copy()
    views.pop("view", None)
    table_url = "?" + views.urlencode()
    views["view"] = HISTORY_GRID
    grid_url = "?" + views.urlencode()
    since, until = request.GET.get("since", ""), request.GET.get("until", "")
    reversed_range = bool(since and until and since > until)
    return page(
        request,
        "floniks/history.html",
        {
            "records": rows,
            "next_url": next_url,
            "grid": grid,
            "table_url": table_url,
            "grid_url": grid_url,
            "filters": request.GET,
            "errors": records.errors,
            "reversed_range": reversed_range,
            "workflows": list(Workflow.objects.order_by("slug").values_list("slug", flat=True)),
            "families": list(ModelFamily.objects.values_list("name", flat=True)),
        },
        fragment="floniks/_history_rows.html",
    )


def _record(request: HttpRequest, pk: uuid.UUID) -> VersionRecord:
    return get_object_or_404(VersionRecord.objects.visible_to(request.user).for_detail(), pk=pk)


@require_GET
@team_only
def record_page(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    record = get_object_or_404(VersionRecord.objects.visible_to(request.user).for_detail().with_signed_copies(), pk=pk)
    steps = [
        {
            "id": step,
            "params": {k: _shown(v) for k, v in params.items()},
            "seed": record.seeds.get(step),
            "model": record.step_models.get(step),
        }
        for step, params in record.parameters.items()
    ]
    drift = record_drift(record)
    return page(
        request,
        "floniks/record.html",
        {
            "record": record,
            "steps": steps,
            "drift": drift,
            "drift_blocks": any(blocks_reproduction(w) for w in drift),
            "environment_changed": any(w["reason"] == "environment_changed" for w in drift),
            "only_newer": all(w["reason"] == "newer_default" for w in drift),
            "checks": record.checks_shown(),
        },
    )


@require_GET
@team_only
def record_outputs(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Every named output of a record in one zip (`<output>.<ext>`), streamed as it is written."""
    record = _record(request, pk)
    # Any: team_only is typed for HttpResponse, and a streamed answer is not one.
    response: Any = StreamingHttpResponse(
        bundles.stream_outputs(bundles.outputs_plan(record)), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="{bundles.outputs_file_name(record)}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@team_only
def check_page(request: HttpRequest, pk: uuid.UUID, check_pk: int) -> HttpResponse:
    """One reproduction check by eye: each output stored and reproduced side by side with their
    difference image (made with the verdict, on the worker: this GET writes nothing), the scores
    and the model drift accepted for it."""
    record = get_object_or_404(VersionRecord.objects.visible_to(request.user).for_list(), pk=pk)
    check = get_object_or_404(record.checks.shown(), pk=check_pk)
    check.record = record
    run = Run.objects.filter(pk=check.run_id).prefetch_related(steps_in_order()).first() if check.run_id else None
    steps = list(run.steps.all()) if run is not None else []
    return page(
        request,
        "floniks/check.html",
        {
            "record": record,
            "check": check,
            "run": run,
            "outputs": verification.comparisons(check, run.outputs_by_name()) if run is not None else [],
            "drift": accepted_drift(check, steps),
            "ssim_near": SSIM_NEAR,
            "phash_near": PHASH_NEAR,
        },
    )


def _shown(value: Any) -> Any:
    """Image bindings as people read them."""
    if isinstance(value, dict) and "step" in value:
        return f"← output of step {value['step']}"
    if isinstance(value, dict) and "artifact" in value:
        return f"reference image {value['artifact'][:12]}…"
    return value


@require_POST
@team_only
def record_action(request: HttpRequest, pk: uuid.UUID, action: str) -> HttpResponse:
    record = _record(request, pk)
    here = reverse("record", args=[pk])
    if action == "approve":
        return perform(
            request,
            lambda: services.approve_record(actor=request.user, record=record),
            success=f"{record.label} approved.",
            then=here,
        )
    if action == "flag-legacy":
        return perform(
            request,
            lambda: services.flag_legacy(actor=request.user, record=record, reason=request.POST.get("reason", "")),
            success="Flagged: this record needs a legacy model.",
            then=here,
        )
    if action == "run-again":
        try:
            again = services.run_again(actor=request.user, run=Run.objects.get(pk=record.run_id))
        except DomainError as exc:
            return refuse(request, exc, here)
        return succeed(request, "Started again with the same version and inputs.", reverse("run", args=[again.pk]))
    if action == "reproduce":
        try:
            run = services.reproduce_record(
                actor=request.user, record=record, accept_model_drift=request.POST.get("accept_model_drift") == "1"
            )
        except DomainError as exc:
            return refuse(request, exc, here)
        return succeed(
            request,
            "Reproduction started; the check appears on the record when it ends.",
            reverse("run", args=[run.pk]),
        )
    raise Http404


def _records(request: HttpRequest, ids: list[str]) -> tuple[VersionRecord, VersionRecord]:
    """Two records the user may see; a malformed or unknown id is a 404, never a 500."""
    try:
        a, b = (_record(request, uuid.UUID(i)) for i in ids)
    except ValueError:
        raise Http404 from None
    return a, b


# The compare page shows two to four records: one column each, the first the reference the others
# are compared with (and the one the wipe and overlay put the chosen other over).
MIN_COMPARED, MAX_COMPARED = 2, 4
LETTERS = "ABCD"


@require_GET
@team_only
def compare(request: HttpRequest) -> HttpResponse:
    ids = request.GET.getlist("r") or [request.GET.get("a", ""), request.GET.get("b", "")]
    ids = [i for i in ids if i]
    if len(ids) > MAX_COMPARED:
        error = f"You picked {len(ids)} records; compare at most four at once."
        return page(request, "floniks/compare.html", {"error": error}, status=400)
    if len(ids) < MIN_COMPARED:
        return page(request, "floniks/compare.html", {"error": "Pick two to four records to compare."}, status=400)
    records = _records_in_order(request, ids)
    first, others = records[0], records[1:]
    artifacts = artifacts_to_read(records)  # one query for every output of every record
    diffs = [compare_records(first, other, artifacts) for other in others]
    # The other record the wipe and overlay put over the first: 1 (the second record) unless asked.
    try:
        pair = int(request.GET.get("pair", "1"))
    except ValueError:  # not a number (or one of thousands of digits)
        pair = 1
    if not 1 <= pair <= len(others):
        pair = 1
    diff, other = diffs[pair - 1], others[pair - 1]
    columns = [{"record": r, "letter": LETTERS[i]} for i, r in enumerate(records)]
    return page(
        request,
        "floniks/compare.html",
        {
            "a": first,
            "b": other,
            "a_letter": "A",
            "b_letter": LETTERS[pair],
            "columns": columns,
            "many": len(records) > MIN_COMPARED,
            "pairs": [
                {
                    "letter": LETTERS[i],
                    "record": r,
                    "current": i == pair,
                    "url": f"{reverse('compare')}?{urlencode([*(('r', pk) for pk in ids), ('pair', i)])}",
                }
                for i, r in enumerate(records)
                if i
            ],
            "diff": diff,
            "grid": _compared_outputs(records, diffs),
            "parameters": _compared_parameters(records),
            "seeds_and_models": _compared_seeds_and_models(records),
            "outputs": [{"name": n, **o} for n, o in diff["outputs"].items()],
        },
    )


def _records_in_order(request: HttpRequest, ids: list[str]) -> list[VersionRecord]:
    """The records the user may see, in the order asked, in one query; a malformed or unknown id
    is a 404, never a 500. The same record twice is allowed (it is compared with itself)."""
    try:
        pks = [uuid.UUID(i) for i in ids]
    except ValueError:
        raise Http404 from None
    found = VersionRecord.objects.visible_to(request.user).for_list().in_bulk(pks)
    if any(pk not in found for pk in pks):
        raise Http404
    return [found[pk] for pk in pks]


def _compared_outputs(records: list[VersionRecord], diffs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each output any record made, with one cell per record: the first is the reference, every
    other says whether its output is the same as the first's (pixel-identical) or differs."""
    names = sorted({n for r in records for n in r.outputs})
    rows = []
    for name in names:
        cells: list[dict[str, Any]] = [{"output": records[0].outputs.get(name), "letter": "A", "reference": True}]
        for i, (record, diff) in enumerate(zip(records[1:], diffs, strict=True), start=1):
            entry = diff["outputs"][name]
            cells.append(
                {
                    "output": record.outputs.get(name),
                    "letter": LETTERS[i],
                    "identical": entry["identical"],
                    "similarity": entry.get("similarity"),
                    "changed": not entry["identical"],
                }
            )
        for cell, record in zip(cells, records, strict=True):
            cell["record"] = record
        rows.append({"name": name, "cells": cells})
    return rows


def _compared_parameters(records: list[VersionRecord]) -> list[tuple[str, list[tuple[str, list[dict[str, Any]]]]]]:
    """Each parameter whose value differs between the first record and any other, as one cell per
    record (marked `changed` where it differs from the first's): an image binding becomes the image
    it names (a reference image, or what the bound step made in that record's run), never a dict."""
    changed: list[tuple[str, list[tuple[str, list[Any]]]]] = []
    for step in sorted({s for r in records for s in r.parameters}):
        keys = sorted({k for r in records for k in r.parameters.get(step, {})})
        rows = [(k, [r.parameters.get(step, {}).get(k) for r in records]) for k in keys]
        rows = [(k, values) for k, values in rows if any(v != values[0] for v in values[1:])]
        if rows:
            changed.append((step, rows))
    bound = {v["step"] for _step, rows in changed for _k, values in rows for v in values if _is_step(v)}
    made: dict[tuple[Any, str], str] = {}
    if bound:  # one query, and only when an image from another step differs
        made = {
            (run_id, step_id): sha
            for run_id, step_id, sha in RunStep.objects.filter(
                run_id__in=[r.run_id for r in records], step_id__in=bound, output__isnull=False
            ).values_list("run_id", "step_id", "output__sha256")
        }

    def cell(record: VersionRecord, value: Any) -> dict[str, Any]:
        if isinstance(value, dict) and isinstance(value.get("artifact"), str):
            return {"sha": value["artifact"], "caption": "reference image"}
        if _is_step(value):
            caption = f"output of step {value['step']}"
            return {"sha": made.get((record.run_id, value["step"])), "caption": caption, "text": f"← {caption}"}
        return {"text": value}

    return [
        (
            step,
            [
                (
                    k,
                    [
                        {**cell(r, v), "changed": i > 0 and v != values[0]}
                        for i, (r, v) in enumerate(zip(records, values, strict=True))
                    ],
                )
                for k, values in rows
            ],
        )
        for step, rows in changed
    ]


def _compared_seeds_and_models(records: list[VersionRecord]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each step's seed and model where any record's differs from the first's: one cell per record."""
    shown = []
    for what, values_of in (("seed", lambda r: r.seeds), ("model", lambda r: r.step_models)):
        for step in sorted({s for r in records for s in values_of(r)}):
            values = [values_of(r).get(step) for r in records]
            if any(v != values[0] for v in values[1:]):
                cells = [{"text": v, "changed": i > 0 and v != values[0]} for i, v in enumerate(values)]
                shown.append((f"{step} {what}", cells))
    return shown


def _is_step(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("step"), str)


@require_GET
@team_only
def compare_image(request: HttpRequest) -> HttpResponse:
    """The difference image of one output of two records (brighter = more different)."""
    a, b = _records(request, [request.GET.get("a", ""), request.GET.get("b", "")])
    name = request.GET.get("output", "")
    if name not in a.outputs or name not in b.outputs:
        raise Http404
    data = [read_artifact(get_object_or_404(Artifact, sha256=r.outputs[name]["sha256"])) for r in (a, b)]
    response = HttpResponse(difference_image(*data), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


class _VerifyScope:
    """What DRF's scoped throttle reads of a view: the page shares the API's `verify` budget."""

    throttle_scope = "verify"


@require_http_methods(["GET", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    """Anyone may drop a file here to check its C2PA provenance (DESIGN §13); the answer replaces
    the result panel (htmx) or the whole page. The record is named only to those who may see it."""
    context: dict[str, Any] = {"limit_mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
    status = 200
    if request.method == "POST":
        throttle = ClientScopedRateThrottle()
        if not throttle.allow_request(request, _VerifyScope()):  # type: ignore[arg-type]
            wait = int(throttle.wait() or 1)
            context["problem"] = f"Too many files checked from here; try again in {wait} s."
            response = page(request, "floniks/verify.html", context, fragment="floniks/_verify_result.html", status=429)
            response["Retry-After"] = str(wait)
            return response
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationFailed([Problem("file_required", "file", "Choose or drop a file to check.")])
            context["verified"] = verify_upload(read_upload(upload), request.user)
        except ValidationFailed as exc:
            context["problem"], status = problem_text(exc), 400
        context["checked_name"] = upload.name if upload is not None else ""
    return page(request, "floniks/verify.html", context, fragment="floniks/_verify_result.html", status=status)
