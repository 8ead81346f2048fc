"""What approving a direction would archive (issue 11): each active sibling, with the
production pin and the approved records it holds, so the confirmation says it before."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Count

from runs_app.models import ProductionPin, VersionRecord
from templates_app.models import Lifecycle, Mode, Workflow


@dataclass(frozen=True)
class ArchivedSibling:
    slug: str
    direction_label: str
    lifecycle: str
    mode: str
    canonical_version: str | None
    production_pin: str | None  # the label of the record its production pin comes from
    approved_records: int

    @property
    def is_production(self) -> bool:
        return self.lifecycle == Lifecycle.PRODUCTION

    @property
    def in_production_mode(self) -> bool:
        return self.mode == Mode.PRODUCTION

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def approval_impact(workflow: Workflow) -> list[ArchivedSibling]:
    """The siblings approving `workflow` archives, with what each holds; empty for a non-direction."""
    if workflow.derived_from_id is None:
        return []
    siblings = list(
        Workflow.objects.filter(derived_from_id=workflow.derived_from_id)
        .exclude(pk=workflow.pk)
        .exclude(lifecycle=Lifecycle.ARCHIVED)
        .select_related("canonical_version")
        .order_by("slug")
    )
    ids = [w.pk for w in siblings]
    pins = {
        p.workflow_id: p.record.label
        for p in ProductionPin.objects.filter(workflow_id__in=ids)
        .select_related("record")
        .only("workflow", "record__label")
    }
    approved = dict(
        VersionRecord.objects.filter(workflow_id__in=ids, approved_at__isnull=False)
        .values("workflow_id")
        .annotate(n=Count("id"))
        .values_list("workflow_id", "n")
    )
    return [
        ArchivedSibling(
            slug=w.slug,
            direction_label=w.direction_label,
            lifecycle=w.lifecycle,
            mode=w.mode,
            canonical_version=w.canonical_version.version if w.canonical_version else None,
            production_pin=pins.get(w.pk),
            approved_records=approved.get(w.pk, 0),
        )
        for w in siblings
    ]
