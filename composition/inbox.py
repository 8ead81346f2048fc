"""A manager's inbox: what waits for a manager's decision, in four sections, each item with the
place (or the button) where the decision is taken.

Selectors only: each section is one query (drift also reads the catalogue), whatever the number
of items, and answers plain dataclasses that a page or the API can show. Archived workflows wait
for nobody: they run, publish and pin nothing until an admin resurrects them, so no section lists
them. Each section shows at most INBOX_LIMIT items and says when there are more."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Count, F, Max, Q

from core.querysets import JSONList
from runs_app.drift import production_drift
from runs_app.models import VersionRecord
from templates_app.catalogue import Catalogue
from templates_app.models import Channel, Lifecycle, Workflow, WorkflowVersion

INBOX_LIMIT = 20

Item = TypeVar("Item")


@dataclass(frozen=True)
class Section(Generic[Item]):
    items: list[Item]
    more: bool  # there are more than the items shown

    @classmethod
    def of(cls, rows: list[Item]) -> Section[Item]:
        """From up to INBOX_LIMIT + 1 rows: the extra one only says that there are more."""
        return cls(rows[:INBOX_LIMIT], len(rows) > INBOX_LIMIT)


@dataclass(frozen=True)
class RecordAwaitingApproval:
    id: uuid.UUID
    label: str
    number: int
    workflow_slug: str
    annotated_by: str
    created_at: dt.datetime
    thumbnail: str | None  # the sha256 of its first output, for a thumbnail


@dataclass(frozen=True)
class DirectionsAwaitingDecision:
    """A base whose directions wait for one of them to be approved."""

    base_slug: str
    base_name: str
    directions: list[str]  # the labels of its open directions
    published: int  # how many of them have a version, so could be approved today


@dataclass(frozen=True)
class VersionsAheadOfCanonical:
    """A workflow with published versions newer than the one its canonical pointer names."""

    workflow_slug: str
    workflow_name: str
    canonical: str
    newer: list[str]  # newest first

    @property
    def newest(self) -> str:
        return self.newer[0]


@dataclass(frozen=True)
class ProductionPinDrift:
    workflow_slug: str
    workflow_name: str
    messages: list[str]  # one per drifted step


@dataclass(frozen=True)
class Inbox:
    records: Section[RecordAwaitingApproval]
    directions: Section[DirectionsAwaitingDecision]
    versions: Section[VersionsAheadOfCanonical]
    drift: Section[ProductionPinDrift]

    @property
    def is_empty(self) -> bool:
        return not (self.records.items or self.directions.items or self.versions.items or self.drift.items)


def manager_inbox(catalogue: Catalogue | None = None) -> Inbox:
    return Inbox(
        records=records_awaiting_approval(),
        directions=directions_awaiting_decision(),
        versions=versions_ahead_of_canonical(),
        drift=production_pin_drift(catalogue),
    )


def records_awaiting_approval() -> Section[RecordAwaitingApproval]:
    """Version records not approved yet, newest first. Every record is a finalised run's (records are
    written only by finalisation); approving one is runs_app.services.approve_record."""
    rows = (
        VersionRecord.objects.filter(approved_at__isnull=True)
        .exclude(workflow__lifecycle=Lifecycle.ARCHIVED)
        .order_by("-created_at", "-id")
        .values("id", "label", "number", "workflow__slug", "annotated_by__username", "created_at", "outputs")[
            : INBOX_LIMIT + 1
        ]
    )
    return Section.of(
        [
            RecordAwaitingApproval(
                id=r["id"],
                label=r["label"],
                number=r["number"],
                workflow_slug=r["workflow__slug"],
                annotated_by=r["annotated_by__username"],
                created_at=r["created_at"],
                thumbnail=_first_output(r["outputs"]),
            )
            for r in rows
        ]
    )


def _first_output(outputs: dict[str, Any] | None) -> str | None:
    """The sha256 of a record's first output (VersionRecord.first_output, from the row's values)."""
    first = next(iter((outputs or {}).values()), None)
    return first.get("sha256") if isinstance(first, dict) else None


def directions_awaiting_decision() -> Section[DirectionsAwaitingDecision]:
    """Bases with open (exploring) directions and no approved one yet, where at least one direction
    has a published version (an unpublished direction cannot be approved: it waits for its author,
    not for a manager). Approving is templates_app.services.approve_direction, on the direction's page."""
    decided = Workflow.objects.filter(derived_from__isnull=False, lifecycle=Lifecycle.PRODUCTION).values(
        "derived_from_id"
    )
    rows = (
        Workflow.objects.filter(derived_from__isnull=False, lifecycle=Lifecycle.EXPLORING)
        .exclude(derived_from_id__in=decided)
        .values("derived_from__slug", "derived_from__name")
        .annotate(
            labels=JSONList("direction_label"),
            published=Count("id", filter=Q(canonical_version__isnull=False)),
            newest=Max("created_at"),
        )
        .filter(published__gt=0)
        .order_by("-newest", "derived_from__slug")[: INBOX_LIMIT + 1]
    )
    return Section.of(
        [
            DirectionsAwaitingDecision(
                base_slug=r["derived_from__slug"],
                base_name=r["derived_from__name"],
                directions=sorted(r["labels"]),
                published=r["published"],
            )
            for r in rows
        ]
    )


def _version_order(version: str) -> tuple[int, ...]:
    """`2026.11.29.10` after `2026.11.29.9`: versions compare by their numbers, not as text."""
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def versions_ahead_of_canonical() -> Section[VersionsAheadOfCanonical]:
    """Workflows with standard-channel versions published after their canonical one. Alternate
    versions are opt-in by design and shadow ones are never canonical, so neither waits for a
    promotion. Promoting is templates_app.services.promote_version, on the workflow's page."""
    rows = (
        WorkflowVersion.objects.filter(
            channel=Channel.STANDARD,
            workflow__canonical_version__isnull=False,
            sequence__gt=F("workflow__canonical_version__sequence"),
        )
        .exclude(workflow__lifecycle=Lifecycle.ARCHIVED)
        .values("workflow__slug", "workflow__name", "workflow__canonical_version__version")
        .annotate(newer=JSONList("version"), latest=Max("published_at"))
        .order_by("-latest", "workflow__slug")[: INBOX_LIMIT + 1]
    )
    return Section.of(
        [
            VersionsAheadOfCanonical(
                workflow_slug=r["workflow__slug"],
                workflow_name=r["workflow__name"],
                canonical=r["workflow__canonical_version__version"],
                newer=sorted(r["newer"], key=_version_order, reverse=True),
            )
            for r in rows
        ]
    )


def production_pin_drift(catalogue: Catalogue | None = None) -> Section[ProductionPinDrift]:
    """Production-mode workflows whose pin names a snapshot that is retired, or no longer what their
    canonical version resolves to (runs_app.drift), one item per workflow with each drifted step."""
    by_workflow: dict[str, ProductionPinDrift] = {}
    for found in production_drift(catalogue):
        item = by_workflow.setdefault(
            found.workflow.slug, ProductionPinDrift(found.workflow.slug, found.workflow.name, [])
        )
        item.messages.append(found.message)
    return Section.of(list(by_workflow.values())[: INBOX_LIMIT + 1])
