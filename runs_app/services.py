"""Every state change of runs, version records, reproduction checks and
production pins. Views, tasks and commands call these and nothing else."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import secrets
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.text import slugify

from core.errors import Conflict, Problem, Unavailable, ValidationFailed
from core.roles import Role, require_role
from core.types import Actor
from runs_app import bundles, dispatch, graph, provenance, quota, transitions, verification
from runs_app.dispatch import StepPolicy
from runs_app.drift import blocks_production, pin_drift, record_drift
from runs_app.generators import comfyui_env
from runs_app.models import (
    ANNOTATION_MAX_LENGTH,
    FINALIZABLE,
    LABEL_MAX_LENGTH,
    Artifact,
    Batch,
    ContactSheet,
    ContactSheetCell,
    Evaluation,
    ProductionPin,
    ReproductionCheck,
    Run,
    RunGate,
    RunPurpose,
    RunStatus,
    RunStep,
    SignedOutput,
    StepStatus,
    Verdict,
    VersionRecord,
    steps_in_order,
)
from runs_app.spec import (
    MAX_SEED,
    Overrides,
    Resolution,
    blocks_reproduction,
    resolve_specification,
    validate_inputs,
)
from runs_app.storage import ingest_upload, store_file
from templates_app import services as catalogue_services
from templates_app.catalogue import Catalogue, queue_for
from templates_app.definition import STEP_KINDS
from templates_app.diff import diff_definitions
from templates_app.models import (
    Lifecycle,
    Mode,
    ModelFamily,
    ModelSnapshot,
    Pointer,
    PointerMove,
    Workflow,
    WorkflowVersion,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# --- starting and cancelling -----------------------------------------------------


def start_run(
    *,
    actor: Actor,
    workflow: Workflow,
    inputs: Any,
    version: WorkflowVersion | None = None,
    mode: str | None = None,
    accept_model_drift: bool = False,
) -> Run:
    """Pin a version, freeze its specification and queue the run. A production run whose pinned
    environment changed (a ComfyUI server that no longer reports what the pinned snapshot holds) is
    refused with 409 `model_drift` unless the operator accepts the drift: its output may differ."""
    actor = require_role(actor, Role.OPERATOR, action="start runs")
    return _start(
        actor=actor,
        workflow=workflow,
        inputs=inputs,
        version=version,
        mode=mode,
        accept_model_drift=accept_model_drift,
    )


def _start(
    *,
    actor: User,
    workflow: Workflow,
    inputs: Any,
    version: WorkflowVersion | None = None,
    mode: str | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    swept: dict[str, Any] | None = None,
    accept_model_drift: bool = False,
) -> Run:
    workflow, version = _runnable(workflow, version)
    mode = mode or workflow.mode
    if mode not in Mode.values:
        raise ValidationFailed([Problem("invalid_choice", "mode", "mode must be discovery or production.")])
    values = validate_inputs(version.definition.get("inputs") or {}, inputs)
    catalogue = Catalogue.load()
    overrides, warnings = Overrides(params=params or {}), []
    if mode == Mode.PRODUCTION:
        pin = _required_pin(workflow, path="mode")
        overrides = Overrides(seeds=pin.seeds, subworkflows=_sub_versions(pin.record), params=params or {})
        warnings = pin_drift(pin, version, catalogue)
        blocking = [w for w in warnings if blocks_production(w)]
        if blocking and not accept_model_drift:
            raise Conflict(
                "The environment a pinned step was made in has changed since: run anyway (accept_model_drift), "
                "knowing the output may differ from the pinned record, or capture and pin a new record.",
                code="model_drift",
                problems=[Problem("model_drift", w["step"], w["message"]) for w in blocking],
            )
    resolution = resolve_specification(version=version, inputs=values, catalogue=catalogue, overrides=overrides)
    return _create_run(
        actor=actor,
        workflow=workflow,
        version=version,
        mode=mode,
        inputs=values,
        resolution=resolution,
        warnings=warnings + resolution.drift_warnings,
        catalogue=catalogue,
        swept=swept or {},
    )


def _runnable(workflow: Workflow, version: WorkflowVersion | None) -> tuple[Workflow, WorkflowVersion]:
    """The workflow as it is now (not archived) and the version to run: the given one, else canonical."""
    workflow = Workflow.objects.select_related("canonical_version").get(pk=workflow.pk)  # guard on current state
    workflow.refuse_if_archived("run it")
    version = version or workflow.canonical_version
    if version is None:
        raise Conflict(f"'{workflow.slug}' has no published version to run.", code="no_published_version")
    if version.workflow_id != workflow.pk:
        raise ValidationFailed([Problem("invalid_version", "version", "That version belongs to another workflow.")])
    return workflow, version


def _required_pin(workflow: Workflow, *, path: str) -> ProductionPin:
    """Production runs with the seeds of a pin: production mode without one is refused."""
    pin = ProductionPin.objects.filter(workflow=workflow).first()
    if pin is None:
        raise ValidationFailed(
            [
                Problem(
                    "pin_required",
                    path,
                    "Production needs a production pin: approve a record of this workflow and pin it (pin_record).",
                )
            ]
        )
    return pin


def _create_run(
    *,
    actor: User,
    workflow: Workflow,
    version: WorkflowVersion,
    mode: str,
    inputs: dict[str, Any],
    resolution: Resolution,
    warnings: list[dict[str, str]],
    catalogue: Catalogue,
    reproduces: VersionRecord | None = None,
    batch: Batch | None = None,
    swept: dict[str, Any] | None = None,
    purpose: RunPurpose = RunPurpose.RECORD,
) -> Run:
    with transaction.atomic():
        if batch is None:  # a batch reserved its place in the quota once, for all its runs (start_batch)
            quota.reserve_run_slot(actor)  # issue 11: at most N active runs per user → 429 quota_exceeded
        run = Run.objects.create(
            workflow=workflow,
            version=version,
            mode=mode,
            inputs=inputs,
            specification=resolution.specification,
            spec_hash=resolution.spec_hash,
            drift_warnings=warnings,
            created_by=actor,
            reproduces=reproduces,
            batch=batch,
            swept=swept or {},
            purpose=RunPurpose.REPRODUCTION if reproduces is not None else purpose,
        )
        steps = RunStep.objects.bulk_create(
            _step_row(run, i, s, catalogue) for i, s in enumerate(resolution.specification["steps"])
        )
        transitions.send_first_steps(steps)  # the steps that read no other step are queued at once
    return run


def _step_row(run: Run, index: int, frozen: dict[str, Any], catalogue: Catalogue) -> RunStep:
    """A step as it will execute: its provider, the queue that serves it and its effective policy."""
    family = (frozen.get("model") or "").split("@", 1)[0]
    info = catalogue.families.get(family)
    provider = info.provider if info is not None else "builtin"
    policy = StepPolicy.of(frozen.get("policy"), provider)
    first = not graph.after(run.specification, index)
    return RunStep(
        run=run,
        index=index,
        status=StepStatus.QUEUED if first else StepStatus.PENDING,
        sent_at=run.created_at if first else None,
        step_id=frozen["id"],
        kind=frozen["kind"],
        model=frozen["model"],
        seed=frozen["seed"],
        params=frozen["params"],
        provider=provider,
        queue=queue_for(provider, family),
        timeout_seconds=policy.timeout_seconds,
        retries=policy.retries,
    )


def cancel_run(*, actor: Actor, run: Run) -> Run:
    actor = require_role(actor, Role.OPERATOR, action="cancel runs")
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        if not run.is_cancellable:
            raise Conflict(f"A {run.status.replace('_', ' ')} run cannot be cancelled.", code="not_cancellable")
        # Now, whatever it is doing: no later step starts, and a generating step's watch stops its provider.
        transitions.cancel_run(run)
    return run


def continue_run(*, actor: Actor, run: Run) -> Run:
    """Go on past the gate a run waits at: the steps after it are sent to their queues."""
    actor = require_role(actor, Role.OPERATOR, action="continue runs")
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        if transitions.continue_at_gate(run, actor) is None:
            raise Conflict(f"This run is {run.get_status_display().lower()}, not paused at a gate.", code="not_at_gate")
    return run


def discard_run(*, actor: Actor, run: Run) -> Run:
    """Set a finished run aside without a record (DESIGN §15). Nothing is lost: its seeds, parameters
    and outputs stay, and it can still be finalised later."""
    actor = require_role(actor, Role.OPERATOR, action="discard runs")
    if not transitions.discard_run(run):
        raise _not_awaiting(Run.objects.filter(pk=run.pk).values_list("status", flat=True).get())
    return run


# --- discovery batches (DESIGN §15) ---------------------------------------------------------

MAX_BATCH_RUNS = 64
MAX_SWEPT_PARAMETERS = 2


def start_batch(
    *,
    actor: Actor,
    workflow: Workflow,
    inputs: Any,
    version: WorkflowVersion | None = None,
    count: Any = None,
    sweep: Any = None,
) -> Batch:
    """Start a discovery batch: `count` runs with fresh seeds, or a sweep over one or two parameters'
    values (`{"<step>.<param>": [values]}`, each combination once per seed set; `count` seed sets, 1 by
    default). Every value is checked, and the number of runs (at most 64), before any run starts.

    In a sweep every combination of one seed set shares those seeds, so the cells differ only by the
    swept values. Batch runs are discovery runs, whatever the workflow's mode."""
    actor = require_role(actor, Role.OPERATOR, action="start batches")
    workflow, version = _runnable(workflow, version)
    seed_sets, swept = _batch_shape(count, sweep)
    values = validate_inputs(version.definition.get("inputs") or {}, inputs)
    catalogue = Catalogue.load()
    first = resolve_specification(version=version, inputs=values, catalogue=catalogue)
    combinations = _combinations(first.specification, swept)
    with transaction.atomic():
        quota.reserve_run_slot(actor)  # the batch is one start: refused when the starter is at the limit
        batch = Batch.objects.create(
            workflow=workflow,
            version=version,
            inputs=values,
            count=seed_sets,
            sweep={key: list(vals) for key, vals in swept.items()},
            created_by=actor,
        )
        seen: set[tuple[tuple[str, int], ...]] = set()
        for _ in range(seed_sets):
            seeds = _fresh_seeds(version, values, catalogue, seen)
            for combination in combinations:
                params: dict[str, dict[str, Any]] = {}
                for key, value in combination.items():
                    step_id, name = key.rsplit(".", 1)
                    params.setdefault(step_id, {})[name] = value
                resolution = resolve_specification(
                    version=version,
                    inputs=values,
                    catalogue=catalogue,
                    overrides=Overrides(seeds=seeds, params=params),
                )
                _create_run(
                    actor=actor,
                    workflow=workflow,
                    version=version,
                    mode=Mode.DISCOVERY,
                    inputs=values,
                    resolution=resolution,
                    warnings=resolution.drift_warnings,
                    catalogue=catalogue,
                    batch=batch,
                    swept=dict(combination),
                )
    return batch


def _batch_shape(count: Any, sweep: Any) -> tuple[int, dict[str, list[Any]]]:
    """The number of seed sets and the swept values, checked for shape and size (the values themselves
    are checked against their parameters by `_combinations`)."""
    problems = []
    if count is None and sweep is None:
        raise ValidationFailed([Problem("count_or_sweep_required", "count", "Give a count of seeds or a sweep.")])
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        problems.append(Problem("invalid_count", "count", "count must be a whole number from 1 to 64."))
    if sweep is not None and not isinstance(sweep, dict):
        problems.append(Problem("invalid_sweep", "sweep", 'sweep must be an object {"<step>.<param>": [values]}.'))
    if problems:
        raise ValidationFailed(problems)
    swept: dict[str, list[Any]] = {}
    for key, values in (sweep or {}).items():
        if not isinstance(values, list):
            problems.append(Problem("invalid_sweep", f"sweep.{key}", "Give the values to sweep as a list."))
        else:
            swept[key] = values
    if len(swept) > MAX_SWEPT_PARAMETERS:
        problems.append(Problem("invalid_sweep", "sweep", "A sweep varies one or two parameters."))
    if problems:
        raise ValidationFailed(problems)
    seed_sets = count if count is not None else 1
    total = seed_sets * math.prod(len(v) for v in swept.values())
    if total < 1:
        raise ValidationFailed([Problem("batch_empty", "sweep", "This batch would make no run.")])
    if total > MAX_BATCH_RUNS:
        raise ValidationFailed(
            [
                Problem(
                    "batch_too_large",
                    "sweep" if swept else "count",
                    f"This batch would make {total} runs; a batch makes at most {MAX_BATCH_RUNS}.",
                )
            ]
        )
    return seed_sets, swept


def _combinations(specification: dict[str, Any], swept: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the swept values ({} alone without a sweep), each value checked against
    its parameter's type and range in the run's steps: one bad value refuses the whole batch."""
    steps = {s["id"]: s for s in specification["steps"]}
    problems = []
    for key, values in swept.items():
        step_id, _dot, name = key.rpartition(".")
        step = steps.get(step_id)
        param = STEP_KINDS[step["kind"]].params.get(name) if step is not None else None
        if param is None or param.type == "image":
            known = ", ".join(steps) or "none"
            problems.append(
                Problem(
                    "invalid_sweep",
                    f"sweep.{key}",
                    f"'{key}' is not a parameter to sweep: give <step>.<param> (steps: {known}).",
                )
            )
            continue
        for i, value in enumerate(values):
            if error := param.check(value):
                problems.append(Problem("invalid_sweep", f"sweep.{key}[{i}]", f"{name} {error} (got {value!r})."))
    if problems:
        raise ValidationFailed(problems)
    keys = list(swept)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(swept[k] for k in keys))]


def _fresh_seeds(
    version: WorkflowVersion, inputs: dict[str, Any], catalogue: Catalogue, seen: set[tuple[tuple[str, int], ...]]
) -> dict[str, int]:
    """A seed for every seeded step, different from every seed set the batch has so far."""
    while True:
        steps = resolve_specification(version=version, inputs=inputs, catalogue=catalogue).specification["steps"]
        seeds = {s["id"]: s["seed"] for s in steps if s["seed"] is not None}
        key = tuple(sorted(seeds.items()))
        if key not in seen or not seeds:
            seen.add(key)
            return seeds


# --- run again, retry ----------------------------------------------------------------------


def run_again(*, actor: Actor, run: Run) -> Run:
    """The same version, inputs and swept values again: fresh seeds in discovery, the pin's in production."""
    actor = require_role(actor, Role.OPERATOR, action="start runs")
    params: dict[str, dict[str, Any]] = {}
    for key, value in (run.swept or {}).items():
        step_id, name = key.rsplit(".", 1)
        params.setdefault(step_id, {})[name] = value
    return _start(
        actor=actor,
        workflow=run.workflow,
        version=run.version,
        inputs=run.inputs,
        mode=run.mode,
        params=params,
        swept=run.swept,
    )


def retry_run(*, actor: Actor, run: Run) -> Run:
    """A failed run again from its failed step: a new run with the same frozen specification (seeds,
    snapshots, parameters), whose steps that had succeeded are reused — their outputs copied, not
    generated again — and whose other steps run. Its record is as exact as any: every reused output
    was made by the very same frozen step."""
    actor = require_role(actor, Role.OPERATOR, action="retry runs")
    with transaction.atomic():
        original = Run.objects.select_for_update().get(pk=run.pk)
        if not original.is_retryable:
            raise Conflict(
                f"Only a failed run can be retried; this one is {original.get_status_display().lower()}.",
                code="not_retryable",
            )
        Workflow.objects.get(pk=original.workflow_id).refuse_if_archived("run it")
        quota.reserve_run_slot(actor)
        retry = Run.objects.create(
            workflow_id=original.workflow_id,
            version_id=original.version_id,
            mode=original.mode,
            inputs=original.inputs,
            specification=original.specification,
            spec_hash=original.spec_hash,
            drift_warnings=original.drift_warnings,
            created_by=actor,
            batch_id=original.batch_id,
            swept=original.swept,
            retry_of=original,
        )
        old_steps = list(RunStep.objects.filter(run=original).order_by("index"))
        reused = {s.step_id for s in old_steps if s.status == StepStatus.SUCCEEDED}
        statuses = {s.step_id: (StepStatus.SUCCEEDED if s.step_id in reused else StepStatus.PENDING) for s in old_steps}
        ready = set(graph.ready_steps(original.specification, statuses))
        now = timezone.now()
        rows = [_retried_step(retry, old, ready, now) for old in old_steps]
        steps = RunStep.objects.bulk_create(rows)
        # The gates the original run was let past stay passed: the steps before them are reused as they were.
        RunGate.objects.bulk_create(
            RunGate(
                run=retry,
                after=g.after,
                reached_at=g.reached_at,
                continued_by_id=g.continued_by_id,
                continued_at=g.continued_at,
            )
            for g in original.gates.filter(continued_at__isnull=False)
        )
        if graph.all_succeeded(statuses):
            transitions.end_run(retry, RunStatus.AWAITING_ANNOTATION)
        else:
            transitions.send_first_steps(steps)
    return retry


def _retried_step(run: Run, old: RunStep, ready: set[str], now: Any) -> RunStep:
    common = {
        "run": run,
        "index": old.index,
        "step_id": old.step_id,
        "kind": old.kind,
        "model": old.model,
        "seed": old.seed,
        "params": old.params,
        "provider": old.provider,
        "queue": old.queue,
        "timeout_seconds": old.timeout_seconds,
        "retries": old.retries,
    }
    if old.status == StepStatus.SUCCEEDED:
        return RunStep(
            **common,
            status=StepStatus.SUCCEEDED,
            output_id=old.output_id,
            started_at=old.started_at,
            finished_at=old.finished_at,
            duration_ms=old.duration_ms,
            progress=1.0,
            fingerprint=old.fingerprint,
            submitted=old.submitted,
            reused_from_id=old.reused_from_id or old.pk,  # the step that really generated it
        )
    queued = old.step_id in ready
    return RunStep(
        **common, status=StepStatus.QUEUED if queued else StepStatus.PENDING, sent_at=now if queued else None
    )


# --- finalising and recording ------------------------------------------------------------


def finalize_run(*, actor: Actor, run: Run, label: str, annotation: str, confirm_no_annotation: bool = False) -> Run:
    """The finalisation gate: store the annotation durably now, write the record on a worker."""
    actor = require_role(actor, Role.OPERATOR, action="finalize runs")
    # A browser submits a textarea's line breaks as CRLF; counted and stored as one character each,
    # so the limit means what the form's counter shows.
    label, annotation = (label or "").strip(), (annotation or "").replace("\r\n", "\n").strip()
    try:
        _check_annotation_form(label, annotation, confirm_no_annotation)
    except ValidationFailed:
        # State first: a run that is not waiting gets 409 whatever the form says.
        current = Run.objects.filter(pk=run.pk).values("status", "purpose").get()
        if current["status"] not in FINALIZABLE or current["purpose"] != RunPurpose.RECORD:
            raise _not_awaiting(current["status"]) from None
        raise
    changes = {
        "label": label,
        "annotation": annotation,
        "saved_without_annotation": not annotation,
        "annotated_by": actor,
        "annotated_at": timezone.now(),
    }
    if not transitions.start_recording(run, changes):
        raise _not_awaiting(Run.objects.filter(pk=run.pk).values_list("status", flat=True).get())
    dispatch.send_record_write(run.pk)
    return run


def _not_awaiting(status: str) -> Conflict:
    return Conflict(f"This run is {status.replace('_', ' ')}, not awaiting annotation.", code="not_awaiting_annotation")


def _check_annotation_form(label: str, annotation: str, confirmed: bool) -> None:
    problems = []
    if not label:
        problems.append(Problem("label_required", "label", "Give the version a short label, e.g. 'warmer palette'."))
    elif len(label) > LABEL_MAX_LENGTH:
        problems.append(Problem("label_too_long", "label", _too_long("The label", LABEL_MAX_LENGTH, len(label))))
    elif not slugify(label):
        problems.append(Problem("invalid_label", "label", "The label needs letters or digits."))
    if len(annotation) > ANNOTATION_MAX_LENGTH:
        problems.append(
            Problem(
                "annotation_too_long", "annotation", _too_long("The annotation", ANNOTATION_MAX_LENGTH, len(annotation))
            )
        )
    elif not annotation and not confirmed:
        problems.append(
            Problem(
                "annotation_required",
                "annotation",
                "Say why this version was made, or tick the box to save it without an annotation.",
            )
        )
    if problems:
        raise ValidationFailed(problems)


def _too_long(what: str, limit: int, given: int) -> str:
    return f"{what} can be at most {limit:,} characters; this one has {given:,}."


def write_record(*, run_id: Any) -> VersionRecord | None:
    """Write the version record of a run in `recording`. Idempotent: one record per run.

    Everything that does not need the record's number is prepared first; the
    numbered write itself (runs_app.recording) holds the sequence lock only briefly."""
    run = Run.objects.select_related("version").filter(pk=run_id).first()
    if run is None:
        return None
    if run.status == RunStatus.RECORDING:
        record = VersionRecord(
            run=run,
            workflow_id=run.workflow_id,
            version=run.version,
            manifest_hash=run.version.manifest_hash,
            spec_hash=run.spec_hash,
            mode=run.mode,
            run_at=run.created_at,
            inputs=run.inputs,
            annotation=run.annotation,
            saved_without_annotation=run.saved_without_annotation,
            annotated_by_id=run.annotated_by_id or run.created_by_id,
            **_snapshot_of(run),
        )
        if transitions.finalize_with_record(record, label_suffix=f"-{slugify(run.label)[:100]}"):
            # Signed after the record is committed, on a worker: a signing failure never loses the record.
            dispatch.send_sign_record(record.pk)
            return record
    # Recorded already (a retry, or another writer got there first), or not ready to record.
    return VersionRecord.objects.filter(run_id=run_id).first()


def sign_record(*, record_id: Any) -> int:
    """Sign each output of a record that has no signed copy yet (C2PA, DESIGN §13); how many were signed.

    Called by the worker after the record is written and by the sweep for records still pending.
    Idempotent. Raises signing.SigningUnavailable when the certificate or key cannot be used: the
    record is left as it is, "signing pending"."""
    record = provenance.records_to_sign().filter(pk=record_id).first()
    if record is None:
        return 0
    return provenance.sign_outputs(record)


def _snapshot_of(run: Run) -> dict[str, Any]:
    """Parameters, seeds, models, references and outputs of a run, as a record keeps them."""
    prefetch_related_objects([run], steps_in_order())
    steps = list(run.steps.all())
    # Every image the run was given counts, even one no step reads: the record must rebuild the run alone.
    contract = run.version.definition.get("inputs") or {}
    given = {v for k, v in run.inputs.items() if contract.get(k, {}).get("type") == "image"}
    used = {p["artifact"] for s in steps for p in s.params.values() if isinstance(p, dict) and "artifact" in p}
    references = sorted(given | used)
    outputs = {
        name: {"sha256": out.sha256, "url": out.url, "media_type": out.media_type}
        for name, out in run.outputs_by_name().items()
    }
    return {
        "parameters": {s.step_id: s.params for s in steps},
        "seeds": {s.step_id: s.seed for s in steps if s.seed is not None},
        "step_models": {s.step_id: s.model for s in steps if s.model},
        "subworkflows": run.specification.get("subworkflows", {}),
        "reference_images": [{"sha256": sha, "url": f"/artifacts/{sha}"} for sha in references],
        "outputs": outputs,
        "gates": [
            {
                "after": gate.after,
                "continued_by": gate.continued_by.get_username() if gate.continued_by else None,
                "continued_at": gate.continued_at.isoformat() if gate.continued_at else None,
            }
            for gate in (run.gates.select_related("continued_by") if graph.gates(run.specification) else [])
        ],
    }


# --- records: approval, pins, reproduction ---------------------------------------------------


def approve_record(*, actor: Actor, record: VersionRecord) -> VersionRecord:
    actor = require_role(actor, Role.MANAGER, action="approve version records")
    with transaction.atomic():
        record = VersionRecord.objects.select_for_update().get(pk=record.pk)
        if record.approved_at is not None:
            raise Conflict(f"{record.label} was already approved.", code="already_approved")
        record.approved_by, record.approved_at = actor, timezone.now()
        record.save(update_fields=["approved_by", "approved_at"])
    return record


def set_workflow_mode(
    *, actor: Actor, workflow: Workflow, mode: str, pin_record: VersionRecord | None = None, reason: str = ""
) -> Workflow:
    """Switch discovery ↔ production. Production captures a pin from an approved record."""
    actor = require_role(actor, Role.OPERATOR, action="switch a workflow's mode")
    if mode not in Mode.values:
        raise ValidationFailed([Problem("invalid_choice", "mode", "mode must be discovery or production.")])
    with transaction.atomic():
        workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
        workflow.refuse_if_archived("switch its mode")
        if pin_record is not None:
            _pin(actor=actor, workflow=workflow, record=pin_record, reason=reason)
        elif mode == Mode.PRODUCTION:
            _required_pin(workflow, path="pin_record")
        if workflow.mode != mode:
            before, workflow.mode = workflow.mode, mode
            workflow.save(update_fields=["mode", "updated_at"])
            PointerMove.objects.log(
                Pointer.MODE, actor=actor, workflow=workflow, before=before, after=mode, reason=reason
            )
    return workflow


def _pin(*, actor: User, workflow: Workflow, record: VersionRecord, reason: str) -> None:
    record = VersionRecord.objects.get(pk=record.pk)  # approval as it is now, not as the caller last saw it
    if record.workflow_id != workflow.pk:
        raise ValidationFailed([Problem("invalid_record", "pin_record", "The record belongs to another workflow.")])
    if record.approved_at is None:
        raise ValidationFailed(
            [
                Problem(
                    "record_not_approved",
                    "pin_record",
                    f"{record.label} is not approved; a manager must approve it first.",
                )
            ]
        )
    existing = ProductionPin.objects.filter(workflow=workflow).first()
    before = str(existing.record_id) if existing else ""
    ProductionPin.objects.update_or_create(
        workflow=workflow,
        defaults={
            "record": record,
            "seeds": record.seeds,
            "step_models": record.step_models,
            "pinned_by": actor,
            "pinned_at": timezone.now(),
        },
    )
    PointerMove.objects.log(
        Pointer.PRODUCTION_PIN,
        actor=actor,
        workflow=workflow,
        before=before,
        after=record.pk,
        reason=reason or f"pinned {record.label}",
    )


def reproduce_record(*, actor: Actor, record: VersionRecord, accept_model_drift: bool = False) -> Run:
    """Rebuild the run of a record from the record alone and queue it; a check compares the outputs."""
    actor = require_role(actor, Role.OPERATOR, action="reproduce version records")
    version = WorkflowVersion.objects.select_related("workflow").get(pk=record.version_id)
    version.workflow.refuse_if_archived("run it")
    catalogue = Catalogue.load()
    warnings = record_drift(record, catalogue)
    blocking = [w for w in warnings if blocks_reproduction(w)]
    if blocking and not accept_model_drift:
        raise Conflict(
            "A recorded model snapshot can no longer run as recorded (it is retired, or its environment "
            "changed): reproduce with today's (accept_model_drift) or flag the record as needing a legacy model.",
            code="model_drift",
            problems=[Problem("model_drift", w["step"], w["message"]) for w in blocking],
        )
    overrides = Overrides(
        seeds=record.seeds,
        models=record.step_models,
        use_recorded_models=True,
        accept_drift=accept_model_drift,
        subworkflows=_sub_versions(record),
        params=_recorded_params(record),
    )
    resolution = resolve_specification(version=version, inputs=record.inputs, catalogue=catalogue, overrides=overrides)
    with transaction.atomic():
        run = _create_run(
            actor=actor,
            workflow=version.workflow,
            version=version,
            mode=record.mode,
            inputs=record.inputs,
            resolution=resolution,
            warnings=warnings,
            reproduces=record,
            catalogue=catalogue,
        )
        ReproductionCheck.objects.create(
            record=record,
            run=run,
            created_by=actor,
            drift_accepted=bool(blocking),
            drift_warnings=blocking,
            note="model differs; outputs may differ" if blocking else "",
        )
    return run


def _recorded_params(record: VersionRecord) -> dict[str, dict[str, Any]]:
    """The record's own parameter values (a swept run's among them), so the reproduction runs exactly
    what was recorded, not the version's defaults. Only the parameters a step's kind declares: what
    else a step records (a ComfyUI step's graph, bindings and output node) comes from the version, and
    references (images, other steps) are bound anew."""
    kinds = {s["id"]: s.get("kind") for s in (record.run.specification or {}).get("steps", [])}
    declared = {step: STEP_KINDS[kind].params if kind in STEP_KINDS else {} for step, kind in kinds.items()}
    return {
        step: {
            name: value
            for name, value in params.items()
            if name in declared.get(step, {}) and value is not None and not isinstance(value, dict)
        }
        for step, params in (record.parameters or {}).items()
    }


def _sub_versions(record: VersionRecord) -> dict[str, str]:
    return {step: sub["version"] for step, sub in (record.subworkflows or {}).items()}


def flag_legacy(*, actor: Actor, record: VersionRecord, reason: str = "") -> ReproductionCheck:
    """Mark a record as needing a legacy model that is no longer available."""
    actor = require_role(actor, Role.OPERATOR, action="flag version records")
    catalogue = Catalogue.load()
    with transaction.atomic():
        # NO KEY UPDATE: a reproduction inserting a check for this record (FOR KEY SHARE) is not blocked.
        record = VersionRecord.objects.select_for_update(no_key=True).select_related("version").get(pk=record.pk)
        warnings = record_drift(record, catalogue)
        check = ReproductionCheck.objects.create(
            record=record,
            verdict=Verdict.LEGACY_REQUIRED,
            created_by=actor,
            drift_warnings=warnings,
            note=reason or "flagged: needs a legacy model",
            completed_at=timezone.now(),
        )
        if not record.legacy_required:
            record.legacy_required = True
            record.save(update_fields=["legacy_required"])
    return check


def make_difference_images(*, check: ReproductionCheck) -> bool:
    """The difference images of a check compared before they were made with its verdict (a worker
    makes them now when it settles a reproduction); False when it has them already or compared nothing."""
    if not check.lacks_difference_images or check.run_id is None:
        return False
    run = Run.objects.select_related("reproduces").get(pk=check.run_id)
    outcome = verification.compare_outputs(run)
    return transitions.add_differences(check, outcome.differences) if outcome.differences else False


# --- evidence: evaluations and contact sheets (DESIGN §14) ---------------------------------------


def _swept_for(record: VersionRecord | None, version: WorkflowVersion) -> dict[str, dict[str, Any]]:
    """A swept record's swept values (DESIGN §15), for the steps of `version` that take them: an
    evaluation from that record runs what it recorded, not the version's defaults."""
    if record is None:
        return {}
    kinds = {s.get("id"): s.get("kind") for s in version.definition.get("steps") or [] if isinstance(s, dict)}
    found: dict[str, dict[str, Any]] = {}
    for key, value in (record.run.swept or {}).items():
        step_id, _, name = key.rpartition(".")
        kind = STEP_KINDS.get(str(kinds.get(step_id)))
        if kind is not None and name in kind.params and kind.params[name].type != "image":
            found.setdefault(step_id, {})[name] = value
    return found


def evaluate_version(
    *, actor: Actor, version: WorkflowVersion, record: VersionRecord | None = None, inputs: Any = None
) -> Evaluation:
    """Run a candidate version and today's canonical version on the same inputs and seeds: a given
    record's; else, with `inputs`, seeds drawn once (for the canonical run) and used for both; else the
    production pin's record. Both runs need no annotation and leave no record; a worker compares them."""
    actor = require_role(actor, Role.MANAGER, action="evaluate versions")
    version = WorkflowVersion.objects.select_related("workflow__canonical_version").get(pk=version.pk)
    workflow = version.workflow
    workflow.refuse_if_archived("evaluate its versions")
    baseline = workflow.canonical_version
    if baseline is None:
        raise Conflict(
            f"'{workflow.slug}' has no canonical version to compare with; its first needs no evidence.",
            code="no_canonical_version",
        )
    if baseline.pk == version.pk:
        raise Conflict(f"{version.version} is already canonical.", code="already_canonical")
    given, seeds, source = _evaluation_source(workflow, record, inputs)
    catalogue = Catalogue.load()
    baseline.workflow = workflow
    base_values = validate_inputs(baseline.definition.get("inputs") or {}, given)
    values = validate_inputs(version.definition.get("inputs") or {}, given)
    base_res = resolve_specification(
        version=baseline,
        inputs=base_values,
        catalogue=catalogue,
        overrides=Overrides(seeds=seeds, params=_swept_for(source, baseline)),
    )
    if not seeds:  # drawn once, for the canonical run, and used by the candidate's steps of the same id
        seeds = _seeds_of(base_res)
    resolution = resolve_specification(
        version=version,
        inputs=values,
        catalogue=catalogue,
        overrides=Overrides(seeds=seeds, params=_swept_for(source, version)),
    )
    diff = diff_definitions(baseline.definition, version.definition, catalogue)
    with transaction.atomic():
        runs = [
            _create_run(
                actor=actor,
                workflow=workflow,
                version=v,
                mode=Mode.DISCOVERY,
                inputs=vals,
                resolution=res,
                warnings=res.drift_warnings,
                catalogue=catalogue,
                purpose=RunPurpose.EVALUATION,
            )
            for v, vals, res in ((baseline, base_values, base_res), (version, values, resolution))
        ]
        return Evaluation.objects.create(
            workflow=workflow,
            candidate=version,
            baseline=baseline,
            baseline_run=runs[0],
            candidate_run=runs[1],
            source_record=source,
            inputs=base_values,
            seeds=seeds,
            definition_diff=diff.changes_json(),
            bump=diff.bump,
            bump_reasons=diff.reasons,
            created_by=actor,
        )


def _evaluation_source(
    workflow: Workflow, record: VersionRecord | None, inputs: Any
) -> tuple[Any, dict[str, int], VersionRecord | None]:
    """The inputs, the seeds (empty: draw them) and the record they come from."""
    if record is not None:
        if record.workflow_id != workflow.pk:
            raise ValidationFailed([Problem("invalid_record", "record", "The record belongs to another workflow.")])
        return record.inputs, dict(record.seeds), record
    if inputs is not None:
        return inputs, {}, None
    pin = ProductionPin.objects.select_related("record").filter(workflow=workflow).first()
    if pin is None:
        raise ValidationFailed(
            [
                Problem(
                    "inputs_required",
                    "inputs",
                    "Give inputs or a record to evaluate with (this workflow has no production pin to take them from).",
                )
            ]
        )
    return pin.record.inputs, dict(pin.seeds), pin.record


def _seeds_of(resolution: Resolution) -> dict[str, int]:
    return {s["id"]: s["seed"] for s in resolution.specification["steps"] if s.get("seed") is not None}


def make_contact_sheet(
    *, actor: Actor, base: Workflow, inputs: Any, seed: int | None = None, include_archived: bool = False
) -> ContactSheet:
    """Render a base workflow and each of its directions (their canonical versions) on the same inputs,
    every seeded step with the same seed; a worker composes the grid once the last cell has ended."""
    actor = require_role(actor, Role.OPERATOR, action="make contact sheets")
    base = Workflow.objects.select_related("canonical_version").get(pk=base.pk)
    if base.derived_from_id is not None:
        raise Conflict(
            f"'{base.slug}' is a direction; make the contact sheet from its base workflow.", code="not_a_base"
        )
    base.refuse_if_archived("render it")
    if base.canonical_version is None:
        raise Conflict(f"'{base.slug}' has no canonical version to render.", code="no_published_version")
    if seed is None:
        seed = secrets.randbelow(MAX_SEED + 1)
    elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValidationFailed([Problem("invalid_seed", "seed", f"seed must be an integer from 0 to {MAX_SEED}.")])
    directions = Workflow.objects.filter(derived_from=base, canonical_version__isnull=False)
    if not include_archived:
        directions = directions.exclude(lifecycle=Lifecycle.ARCHIVED)
    members = [base, *directions.select_related("canonical_version").order_by("created_at", "pk")]
    catalogue = Catalogue.load()
    planned = []
    for workflow in members:
        version = workflow.canonical_version
        assert version is not None
        version.workflow = workflow
        values = validate_inputs(version.definition.get("inputs") or {}, inputs)
        # Resolved once to learn every seeded step's id (sub-workflow steps included), then with the seed.
        steps = resolve_specification(version=version, inputs=values, catalogue=catalogue).specification["steps"]
        same = {s["id"]: seed for s in steps if s.get("seed") is not None}
        resolution = resolve_specification(
            version=version, inputs=values, catalogue=catalogue, overrides=Overrides(seeds=same)
        )
        planned.append((workflow, version, values, resolution))
    with transaction.atomic():
        sheet = ContactSheet.objects.create(
            base=base, inputs=planned[0][2], seed=seed, include_archived=include_archived, created_by=actor
        )
        for position, (workflow, version, values, resolution) in enumerate(planned):
            run = _create_run(
                actor=actor,
                workflow=workflow,
                version=version,
                mode=Mode.DISCOVERY,
                inputs=values,
                resolution=resolution,
                warnings=resolution.drift_warnings,
                catalogue=catalogue,
                purpose=RunPurpose.CONTACT_SHEET,
            )
            ContactSheetCell.objects.create(
                sheet=sheet,
                position=position,
                workflow=workflow,
                version=version,
                run=run,
                label=workflow.direction_label or f"{workflow.name} (base)",
                lifecycle=workflow.lifecycle,
            )
    return sheet


def upload_artifact(*, actor: Actor, data: bytes) -> Artifact:
    actor = require_role(actor, Role.OPERATOR, action="upload reference images")
    return ingest_upload(data, actor=actor)


# --- the model catalogue: external environments -------------------------------------------------


def capture_environment(*, actor: Actor, family: ModelFamily | str) -> ModelSnapshot:
    """A new dated snapshot (today, UTC) of a `comfyui/<pool>` family holding what its server reports
    now (runs_app.generators.comfyui_env), made the family's default. 502 `provider_unreachable` when
    no server of the pool answers; 409 `snapshot_exists` when today's snapshot was captured already."""
    actor = require_role(actor, Role.ADMIN, action="capture environments")
    name = family.name if isinstance(family, ModelFamily) else family
    known = ModelFamily.objects.filter(name=name).first()
    if known is not None and known.provider != comfyui_env.PROVIDER:
        raise ValidationFailed(
            [
                Problem(
                    "not_external",
                    "family",
                    f"{name} runs on the {known.provider} provider: it has no server environment to capture.",
                )
            ]
        )
    if known is None and comfyui_env.pool_of(name) not in comfyui_env.pools():
        raise ValidationFailed(
            [Problem("unknown_model", "family", f"{name} is neither in the catalogue nor a configured ComfyUI pool.")]
        )
    try:
        fingerprint = comfyui_env.fingerprint_of_pool(name)
    except comfyui_env.EnvironmentUnreachable as exc:
        raise Unavailable(f"Could not capture {name}: {exc}") from None
    today = timezone.now().astimezone(dt.UTC).date().isoformat()
    blank = ModelSnapshot.objects.filter(family__name=name, snapshot=today, fingerprint={}).first()
    if blank is not None:  # the pool's first snapshot, made today when settings named it, holds nothing yet
        snapshot = catalogue_services.fill_snapshot_fingerprint(actor=actor, snapshot=blank, fingerprint=fingerprint)
    else:
        snapshot = catalogue_services.add_model_snapshot(
            actor=actor,
            family=name,
            snapshot=today,
            tier=None if known else comfyui_env.pool_config.TIER,
            provider=comfyui_env.PROVIDER,
            make_default=True,
            fingerprint=fingerprint,
        )
    for server in comfyui_env.servers_of(name):
        comfyui_env.forget(server)  # the next page compares with a fresh answer
    return snapshot


# --- bundles (DESIGN §16, runs_app.bundles) ----------------------------------------------------


def import_bundle(*, actor: Actor, source: IO[bytes] | None) -> VersionRecord:
    """Import a record bundle: every hash is checked first (runs_app.bundles.read_bundle), then, in
    one transaction, the workflows and versions it needs (same manifest hashes), its artifacts
    (content addressed), a finalised run from its specification and steps, and the record, marked
    as imported from its origin instance with its original id. Nothing is written when anything is
    wrong; a bundle already imported (or the record itself, on the instance it came from) is a
    409. The record takes the next number of its workflow here (numbers stay gap-free per
    instance); its number and label there are kept in `origin`."""
    actor = require_role(actor, Role.ADMIN, action="import bundles")
    if source is None:
        raise ValidationFailed([Problem("file_required", "file", "Send the bundle as a multipart field named 'file'.")])
    bundle = bundles.read_bundle(source)
    original = bundle.record
    if VersionRecord.objects.filter(pk=original["id"]).exists():
        raise Conflict(f"Record {original['id']} is already on this instance.", code="record_exists")
    if VersionRecord.objects.filter(origin_instance=bundle.instance, origin_record_id=original["id"]).exists():
        raise Conflict(f"Record {original['id']} of {bundle.instance} was imported already.", code="already_imported")
    now = timezone.now()
    try:
        with transaction.atomic():
            versions = [
                catalogue_services.import_version(actor=actor, portable=v, reason=f"imported from {bundle.instance}")
                for v in bundle.versions
            ]
            version = versions[0]
            stored = {
                sha: store_file(
                    bundle.read(item),
                    media_type=item.media_type,
                    extension=item.extension,
                    width=item.width,
                    height=item.height,
                    frames=item.frames,
                    kind=item.kind,
                    actor=actor,
                )
                for sha, item in bundle.artifacts.items()
            }
            record = _imported_record(actor, bundle, version, stored, now)
            _attach_signed_copies(actor, bundle, record, stored)
    except (IntegrityError, DjangoValidationError) as exc:
        raise ValidationFailed(
            [Problem("invalid_bundle", "record.json", f"The bundle's record cannot be stored: {exc}")]
        ) from None
    if not bundle.signed:
        # Nothing was signed where it was made: signed here, as a record written here is (docs/bundles.md).
        dispatch.send_sign_record(record.pk)
    return record


def _attach_signed_copies(
    actor: User, bundle: bundles.Bundle, record: VersionRecord, stored: dict[str, Artifact]
) -> None:
    """The bundle's C2PA-signed copies, stored and linked to the imported record as they were to the
    original, signer included: the record is not "signing pending" here and the sweep does not sign
    it again (its copies carry the signature of the instance that made it)."""
    copies = bundle.record.get("signed_outputs") or {}
    rows = []
    for name, item in bundle.signed.items():
        copy = store_file(
            bundle.read(item),
            media_type=item.media_type,
            extension=item.extension,
            width=item.width,
            height=item.height,
            frames=item.frames,
            kind=item.kind,
            actor=actor,
            thumbnail=False,  # pages show the original's preview; the copy is for downloading
        )
        signer = copies[name].get("signer") or ""
        original = stored[record.outputs[name]["sha256"]]
        rows.append(SignedOutput(record=record, name=name, original=original, artifact=copy, signer=signer[:300]))
    if rows:  # a bundle brings all of a record's copies or none
        SignedOutput.objects.bulk_create(rows)
        provenance.settle_pending(record, copies=len(rows))


def _imported_record(
    actor: User, bundle: bundles.Bundle, version: WorkflowVersion, stored: dict[str, Artifact], now: Any
) -> VersionRecord:
    original = bundle.record
    label = original["label"]
    run = Run.objects.create(
        workflow_id=version.workflow_id,
        version=version,
        mode=original["mode"],
        status=RunStatus.RECORDING,  # numbered and finalised with the record, as any run is
        inputs=original["inputs"],
        specification=bundle.specification,
        spec_hash=original["spec_hash"],
        created_by=actor,
        label=label[:80],
        annotation=original["annotation"],
        saved_without_annotation=original["saved_without_annotation"],
        annotated_by=actor,
        annotated_at=now,
        started_at=bundles.parse_time(original["run_at"], "record.run_at"),
        finished_at=now,
    )
    RunStep.objects.bulk_create(
        RunStep(
            run=run,
            index=i,
            step_id=s["id"],
            kind=str(s.get("kind", ""))[:20],
            model=str(s.get("model") or "")[:140],
            seed=s.get("seed") if isinstance(s.get("seed"), int) else None,
            params=s.get("params") if isinstance(s.get("params"), dict) else {},
            status=str(s["status"]) if s.get("status") in StepStatus.values else StepStatus.SUCCEEDED,
            output=stored.get(s.get("output") or ""),
            provider=str(s.get("provider") or "builtin")[:50],
            fingerprint=s.get("fingerprint") if isinstance(s.get("fingerprint"), dict) else {},
            submitted=s.get("submitted"),
            progress=1.0,
        )
        for i, s in enumerate(bundle.steps)
    )
    record = VersionRecord(
        run=run,
        workflow_id=version.workflow_id,
        version=version,
        manifest_hash=version.manifest_hash,
        spec_hash=original["spec_hash"],
        mode=original["mode"],
        run_at=bundles.parse_time(original["run_at"], "record.run_at"),
        inputs=original["inputs"],
        parameters=original["parameters"],
        seeds=original["seeds"],
        step_models=original["models"],
        subworkflows=original["subworkflows"],
        reference_images=[
            {"sha256": r["sha256"], "url": f"/artifacts/{r['sha256']}"} for r in original["reference_images"]
        ],
        outputs={
            name: {
                "sha256": out["sha256"],
                "url": f"/artifacts/{out['sha256']}",
                "media_type": stored[out["sha256"]].media_type,
            }
            for name, out in original["outputs"].items()
        },
        gates=original["gates"],
        annotation=original["annotation"],
        saved_without_annotation=original["saved_without_annotation"],
        annotated_by=actor,
        origin_instance=bundle.instance,
        origin_record_id=original["id"],
        origin={
            "number": original.get("number"),
            "label": label,
            "annotated_by": original["annotated_by"],
            "approved_by": original.get("approved_by"),
            "approved_at": original.get("approved_at"),
            "created_at": original.get("created_at"),
            "origin": original.get("origin"),  # where it was made, when it had been imported there too
        },
        imported_by=actor,
        imported_at=now,
    )
    # The original label's words after its number (`v3-warmer-palette` → `-warmer-palette`).
    suffix = re.sub(r"^v\d+", "", label)[:100] or "-imported"
    if not transitions.finalize_with_record(record, label_suffix=suffix):
        raise Conflict("The imported run could not be recorded.", code="import_failed")
    return record
