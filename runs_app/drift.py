"""Model drift (DESIGN §5): where a recorded or pinned snapshot is retired, or differs from
what a version resolves to today. Pages, the API and services all read drift from here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from runs_app.models import ProductionPin, ReproductionCheck, RunStep, VersionRecord
from runs_app.spec import drift_warnings_for, environment_change, models_today
from templates_app import comfyui as pool_config
from templates_app.catalogue import UNSEEDED_WARNING, Catalogue
from templates_app.definition import split_model
from templates_app.models import Lifecycle, Mode, Workflow, WorkflowVersion

Warning = dict[str, str]  # {step, recorded, current, reason, message}: stored on runs and checks as is


def pin_drift(
    pin: ProductionPin | None, version: WorkflowVersion | None, catalogue: Catalogue | None = None
) -> list[Warning]:
    """Steps whose pinned snapshot differs from what `version` resolves to today (none without a pin)."""
    if pin is None or version is None:
        return []
    return drift_warnings_for(pin.step_models, version, catalogue or Catalogue.load())


def workflow_drift(workflow: Workflow, catalogue: Catalogue | None = None) -> list[Warning]:
    """The drift of a workflow's production pin against its canonical version; without a pin, the
    ComfyUI environments its canonical version runs on that no longer match their snapshot (what a
    discovery run would record as its snapshot is then not what ran: an admin captures a new one)."""
    pin = getattr(workflow, "production_pin", None)
    version = workflow.canonical_version
    if pin is not None or version is None:
        return pin_drift(pin, version, catalogue)
    if not _runs_on_comfyui(version):
        return []  # no server to compare with: not even the catalogue is read
    return environment_drift(version, catalogue or Catalogue.load())


def _runs_on_comfyui(version: WorkflowVersion) -> bool:
    """Whether a step of the version itself names a ComfyUI pool (its sub-workflows' are theirs to say)."""
    steps = version.definition.get("steps") or []
    return any(str(s.get("model", "")).startswith(pool_config.FAMILY_PREFIX) for s in steps if isinstance(s, dict))


def environment_drift(version: WorkflowVersion, catalogue: Catalogue) -> list[Warning]:
    """Steps of a version whose snapshot today holds a captured environment its servers no longer report."""
    found = []
    for step_id, ref in models_today(version, catalogue).items():
        change = environment_change(ref, catalogue) if ref else None
        if ref and change is not None and change.changed:
            found.append(
                {
                    "step": step_id,
                    "recorded": ref,
                    "current": ref,
                    "reason": "environment_changed",
                    "message": f"Step '{step_id}' runs on {ref}, whose ComfyUI server has changed since it was "
                    f"captured: {change.text}. An admin can capture a new snapshot.",
                }
            )
    return found


def record_drift(record: VersionRecord, catalogue: Catalogue | None = None) -> list[Warning]:
    """Steps whose recorded snapshot is retired or differs from what the record's version resolves to today."""
    return drift_warnings_for(record.step_models, record.version, catalogue or Catalogue.cached())


@dataclass(frozen=True)
class WorkflowDrift:
    workflow: Workflow
    message: str


def pinned_drift(workflow_ids: Iterable[int], catalogue: Catalogue | None = None) -> list[WorkflowDrift]:
    """Drift of the production pins of these workflows, one row per drifted step."""
    return _drift_of(ProductionPin.objects.filter(workflow_id__in=list(workflow_ids)), catalogue)


def production_drift(catalogue: Catalogue | None = None) -> list[WorkflowDrift]:
    """Drift of the pins that production runs use today: workflows in production mode, not archived
    (an archived one runs nothing until it is resurrected). One query, however many there are."""
    pins = ProductionPin.objects.filter(workflow__mode=Mode.PRODUCTION).exclude(workflow__lifecycle=Lifecycle.ARCHIVED)
    return _drift_of(pins.order_by("workflow__slug"), catalogue)


def _drift_of(pins: QuerySet[ProductionPin], catalogue: Catalogue | None) -> list[WorkflowDrift]:
    catalogue = catalogue or Catalogue.load()
    return [
        WorkflowDrift(pin.workflow, warning["message"])
        for pin in pins.select_related("workflow__canonical_version")
        for warning in pin_drift(pin, pin.workflow.canonical_version, catalogue)
    ]


@dataclass(frozen=True)
class AcceptedDrift:
    """A step of a reproduction that ran with another snapshot than its record's."""

    step: str
    recorded: str
    ran_with: str
    why: str


DRIFT_REASONS = {
    "retired": "the recorded snapshot is retired",
    "newer_default": "a newer snapshot is the default",
    "environment_changed": "the server's environment changed since the snapshot was captured",
}


def blocks_production(warning: Warning) -> bool:
    """A production run reproduces its pin's output only in the pin's environment: one that changed
    (a ComfyUI server reporting another version, node classes or model files) refuses the run until
    the operator accepts it. A retired or superseded snapshot is only told (the run uses today's)."""
    return warning["reason"] == "environment_changed"


def accepted_drift(check: ReproductionCheck, steps: Iterable[RunStep]) -> list[AcceptedDrift]:
    """The drift a check was started with, each step with the snapshot its reproduction really ran
    (the run's step; what the warning foresaw when the run has no such step)."""
    ran = {s.step_id: s.model for s in steps}
    return [
        AcceptedDrift(
            step=w["step"],
            recorded=w["recorded"],
            ran_with=ran.get(w["step"]) or w["current"],
            why=DRIFT_REASONS.get(w["reason"], w["message"]),
        )
        for w in check.drift_warnings
    ]


def model_notes(version: WorkflowVersion | None, catalogue: Catalogue) -> list[str]:
    """What a user should know before running a version about the models its steps use: a family that
    takes no seed (reproduction can at best be near), a family that cannot run on this server now."""
    if version is None:
        return []
    notes: list[str] = []
    for step in version.definition.get("steps") or []:
        model = step.get("model") if isinstance(step, dict) else None
        info = catalogue.families.get(split_model(model)[0]) if isinstance(model, str) else None
        if info is None:
            continue
        if not info.seeded:
            notes.append(f"Step '{step.get('id')}': " + UNSEEDED_WARNING.format(family=info.name))
        if info.unavailable:
            notes.append(f"Step '{step.get('id')}': {info.name} cannot run now. {info.unavailable}")
    return notes
