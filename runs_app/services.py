"""Every state change of runs, version records, reproduction checks and
production pins. Views, tasks and commands call these and nothing else."""

from __future__ import annotations

import re
from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.text import slugify

from core.errors import Conflict, Problem, ValidationFailed
from core.roles import Role, require_role
from core.types import Actor
from runs_app import bundles, dispatch, graph, quota, transitions, verification
from runs_app.dispatch import StepPolicy
from runs_app.drift import pin_drift, record_drift
from runs_app.models import (
    ANNOTATION_MAX_LENGTH,
    LABEL_MAX_LENGTH,
    Artifact,
    ProductionPin,
    ReproductionCheck,
    Run,
    RunStatus,
    RunStep,
    StepStatus,
    Verdict,
    VersionRecord,
    steps_in_order,
)
from runs_app.spec import Overrides, Resolution, blocks_reproduction, resolve_specification, validate_inputs
from runs_app.storage import ingest_upload, store_file
from templates_app import services as templates
from templates_app.catalogue import Catalogue
from templates_app.models import Mode, Pointer, PointerMove, Workflow, WorkflowVersion

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# --- starting and cancelling -----------------------------------------------------


def start_run(
    *, actor: Actor, workflow: Workflow, inputs: Any, version: WorkflowVersion | None = None, mode: str | None = None
) -> Run:
    """Pin a version, freeze its specification and queue the run."""
    actor = require_role(actor, Role.OPERATOR, action="start runs")
    workflow = Workflow.objects.select_related("canonical_version").get(pk=workflow.pk)  # guard on current state
    workflow.refuse_if_archived("run it")
    version = version or workflow.canonical_version
    if version is None:
        raise Conflict(f"'{workflow.slug}' has no published version to run.", code="no_published_version")
    if version.workflow_id != workflow.pk:
        raise ValidationFailed([Problem("invalid_version", "version", "That version belongs to another workflow.")])
    mode = mode or workflow.mode
    if mode not in Mode.values:
        raise ValidationFailed([Problem("invalid_choice", "mode", "mode must be discovery or production.")])
    values = validate_inputs(version.definition.get("inputs") or {}, inputs)
    catalogue = Catalogue.load()
    overrides, warnings = Overrides(), []
    if mode == Mode.PRODUCTION:
        pin = _required_pin(workflow, path="mode")
        overrides = Overrides(seeds=pin.seeds, subworkflows=_sub_versions(pin.record))
        warnings = pin_drift(pin, version, catalogue)
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
    )


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
) -> Run:
    with transaction.atomic():
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
        queue=dispatch.queue_for(provider),
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
        current = Run.objects.filter(pk=run.pk).values("status", "reproduces_id").get()
        if current["status"] != RunStatus.AWAITING_ANNOTATION or current["reproduces_id"] is not None:
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
            return record
    # Recorded already (a retry, or another writer got there first), or not ready to record.
    return VersionRecord.objects.filter(run_id=run_id).first()


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
            "A recorded model snapshot is retired: reproduce with today's snapshot "
            "(accept_model_drift) or flag the record as needing a legacy model.",
            code="model_drift",
            problems=[Problem("model_drift", w["step"], w["message"]) for w in blocking],
        )
    overrides = Overrides(
        seeds=record.seeds,
        models=record.step_models,
        use_recorded_models=True,
        accept_drift=accept_model_drift,
        subworkflows=_sub_versions(record),
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


def upload_artifact(*, actor: Actor, data: bytes) -> Artifact:
    actor = require_role(actor, Role.OPERATOR, action="upload reference images")
    return ingest_upload(data, actor=actor)


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
                templates.import_version(actor=actor, portable=v, reason=f"imported from {bundle.instance}")
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
            # SIGNED COPIES: stored (content addressed) so they are here once records hold them
            # (runs_app.bundles.signed_copies); then set the record's signed outputs from
            # bundle.signed in _imported_record. Records cannot hold them yet.
            for item in bundle.signed.values():
                store_file(
                    bundle.read(item),
                    media_type=item.media_type,
                    extension=item.extension,
                    width=item.width,
                    height=item.height,
                    frames=item.frames,
                    actor=actor,
                )
            record = _imported_record(actor, bundle, version, stored, now)
    except (IntegrityError, DjangoValidationError) as exc:
        raise ValidationFailed(
            [Problem("invalid_bundle", "record.json", f"The bundle's record cannot be stored: {exc}")]
        ) from None
    return record


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
