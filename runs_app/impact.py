"""What a model-catalogue change touches (issue 14 item 7): before an admin retires a snapshot or
moves a family's default away from it, the workflows that float on it, the versions that pin it,
the production pins, the records and approved records made with it and the runs in flight.

One selector for the catalogue page, the impact API and the answers of `retire` and `default`;
a fixed number of queries whatever the size of the history (the records are counted on the
indexed RecordModel rows, never loaded)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from runs_app.models import ProductionPin, RecordModel, Run, RunStatus
from templates_app.models import Lifecycle, ModelSnapshot, SnapshotStatus, Workflow, WorkflowVersion

# The statuses of a run that still generates (or waits to): its steps' snapshots are frozen in its
# specification, so it goes on with them whatever the catalogue says meanwhile. Mirrors
# RunQuerySet.generating().
IN_FLIGHT = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.AWAITING_GATE)


@dataclass(frozen=True)
class PinnedVersion:
    workflow: str
    version: str
    is_canonical: bool


@dataclass(frozen=True)
class SnapshotImpact:
    family: str
    snapshot: str
    is_default: bool
    is_retired: bool
    # Workflows whose canonical version names the family without a snapshot: they run on this
    # snapshot today because it is the default (empty when it is not the default).
    floating_workflows: list[str] = field(default_factory=list)
    pinned_versions: list[PinnedVersion] = field(default_factory=list)  # versions naming family@snapshot
    production_pins: list[str] = field(default_factory=list)  # workflows whose pin holds it
    records: int = 0
    approved_records: int = 0
    runs_in_flight: int = 0

    @property
    def ref(self) -> str:
        return f"{self.family}@{self.snapshot}"

    @property
    def pinned_workflows(self) -> list[str]:
        return sorted({v.workflow for v in self.pinned_versions})

    @property
    def touches_anything(self) -> bool:
        return bool(
            self.floating_workflows
            or self.pinned_versions
            or self.production_pins
            or self.records
            or self.runs_in_flight
        )

    def as_dict(self) -> dict[str, Any]:
        """The API's shape (API.md, Model catalogue), with the pinned versions spelled out."""
        return {
            "family": self.family,
            "snapshot": self.snapshot,
            "is_default": self.is_default,
            "status": SnapshotStatus.RETIRED if self.is_retired else SnapshotStatus.AVAILABLE,
            "floating_workflows": self.floating_workflows,
            "pinned_workflows": self.pinned_workflows,
            "pinned_versions": [
                {"workflow": v.workflow, "version": v.version, "is_canonical": v.is_canonical}
                for v in self.pinned_versions
            ],
            "production_pins": self.production_pins,
            "records": self.records,
            "approved_records": self.approved_records,
            "runs_in_flight": self.runs_in_flight,
        }


def _names_model(definition: Any, model: str) -> bool:
    """Whether a definition has a step whose model is exactly `model` (the manifest text filter
    only narrows the rows; this decides)."""
    steps = definition.get("steps") if isinstance(definition, dict) else None
    return any(isinstance(s, dict) and s.get("model") == model for s in steps or [])


def snapshot_impact(snapshot: ModelSnapshot) -> SnapshotImpact:
    """Everything retiring `snapshot`, or moving its family's default away from it, touches.

    Five queries (floating workflows, pinning versions, production pins, record
    counts, runs in flight), whatever the number of workflows, records or runs. The versions are
    narrowed in the database by their canonical-JSON manifest, where a step's model is written
    exactly as `"model":"<family>"` or `"model":"<family>@<snapshot>"` (RFC 8785: no blanks)."""
    family = snapshot.family  # callers select_related("family"): then no query
    ref = f"{family.name}@{snapshot.snapshot}"
    is_default = family.default_snapshot_id == snapshot.pk
    floating: list[str] = []
    if is_default:
        candidates = (
            Workflow.objects.exclude(lifecycle=Lifecycle.ARCHIVED)
            .filter(canonical_version__manifest__contains=f'"model":"{family.name}"')
            .order_by("slug")
            .values_list("slug", "canonical_version__definition")
        )
        floating = [slug for slug, definition in candidates if _names_model(definition, family.name)]
    pinned = [
        PinnedVersion(slug, version, canonical_id == pk)
        for pk, slug, version, canonical_id, definition in WorkflowVersion.objects.filter(
            manifest__contains=f'"model":"{ref}"'
        )
        .order_by("workflow__slug", "-sequence")
        .values_list("pk", "workflow__slug", "version", "workflow__canonical_version_id", "definition")
        if _names_model(definition, ref)
    ]
    # One pin per workflow, so a handful of rows: read them all rather than a JSON lookup SQLite lacks.
    pins = sorted(
        slug
        for slug, models in ProductionPin.objects.values_list("workflow__slug", "step_models")
        if ref in (models or {}).values()
    )
    counts = RecordModel.objects.filter(family=family.name, snapshot=snapshot.snapshot).aggregate(
        records=Count("record", distinct=True),
        approved=Count("record", distinct=True, filter=Q(record__approved_at__isnull=False)),
    )
    in_flight = Run.objects.filter(status__in=IN_FLIGHT, steps__model=ref).values("pk").distinct().count()
    return SnapshotImpact(
        family=family.name,
        snapshot=snapshot.snapshot,
        is_default=is_default,
        is_retired=snapshot.status == SnapshotStatus.RETIRED,
        floating_workflows=floating,
        pinned_versions=pinned,
        production_pins=pins,
        records=counts["records"] or 0,
        approved_records=counts["approved"] or 0,
        runs_in_flight=in_flight,
    )
