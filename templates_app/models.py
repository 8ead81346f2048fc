"""Versioned workflow templates: workflows, drafts, immutable versions, the
model catalogue and the append-only history of every pointer move."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, ClassVar

import pgtrigger
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from core.errors import Conflict
from core.jsonsafe import LegacyDepthDecoder
from core.querysets import AppendOnlyQuerySet, ImmutableRowError
from core.roles import Role, role_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# --- Model catalogue --------------------------------------------------------


FAMILY_NAME_PATTERN = r"^[a-z0-9_-]+/[a-z0-9_.-]+(/[a-z0-9_.-]+)?$"
# A snapshot is a release date (YYYY-MM-DD), a Replicate version id (64 hex digits) or a dated model
# name as OpenAI publishes them (`gpt-image-1-2025-04-15`).
# Where an address names one snapshot (`<family>@<snapshot>`): the shapes above, loosely (the row decides).
MODEL_REF_PATH = r"(?P<family>[a-z0-9_-]+/[a-z0-9_.-]+(?:/[a-z0-9_.-]+)?)@(?P<snapshot>[a-z0-9._-]{10,100})"
SNAPSHOT_PATTERN = r"^(\d{4}-\d{2}-\d{2}|[0-9a-f]{64}|[a-z0-9][a-z0-9._-]*-\d{4}-\d{2}-\d{2})$"


class ModelFamily(models.Model):
    """A generation model family such as `local/plasma`; its snapshots are dated."""

    name = models.CharField(max_length=100, unique=True)
    tier = models.CharField(max_length=40, help_text="Quality/cost class; swapping across tiers is a major bump.")
    provider = models.CharField(max_length=40, default="builtin")
    description = models.TextField(blank=True)
    default_snapshot = models.ForeignKey(
        "ModelSnapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "model families"
        constraints = [
            # `local/plasma`, `openai/gpt-image-1`; Replicate's `replicate/<owner>/<model>` has one part more.
            models.CheckConstraint(condition=Q(name__regex=FAMILY_NAME_PATTERN), name="family_name_shape_with_owner"),
        ]

    def __str__(self) -> str:
        return self.name


class SnapshotStatus(models.TextChoices):
    AVAILABLE = "available"
    RETIRED = "retired"


class ModelSnapshot(models.Model):
    family = models.ForeignKey(ModelFamily, on_delete=models.PROTECT, related_name="snapshots")
    snapshot = models.CharField(
        max_length=100,
        help_text="Release date (YYYY-MM-DD), a Replicate version id (64 hex) or a dated model name (gpt-image-1-2025-04-15).",
    )
    status = models.CharField(max_length=10, choices=SnapshotStatus.choices, default=SnapshotStatus.AVAILABLE)
    # For an external environment (a `comfyui/<pool>` family): what its servers reported when an admin
    # captured the snapshot — versions, node classes, model files (runs_app.generators.comfyui_env).
    # Empty for families whose snapshot is the code itself. Set once, then frozen (a trigger).
    fingerprint = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["family__name", "snapshot"]
        constraints = [
            models.UniqueConstraint(fields=["family", "snapshot"], name="unique_family_snapshot"),
            models.CheckConstraint(condition=Q(snapshot__regex=SNAPSHOT_PATTERN), name="snapshot_shape"),
            models.CheckConstraint(condition=Q(status__in=SnapshotStatus.values), name="snapshot_status_valid"),
        ]
        triggers: ClassVar[list[Any]] = [
            pgtrigger.Protect(name="snapshot_no_delete", operation=pgtrigger.Delete),
            pgtrigger.ReadOnly(name="snapshot_frozen", fields=["family", "snapshot"]),
            # A fingerprint, once held, never changes; a snapshot minted without one (a ComfyUI pool's
            # first, made when settings first named the pool) receives it at its first capture.
            pgtrigger.Protect(
                name="snapshot_fingerprint_once",
                operation=pgtrigger.Update,
                condition=pgtrigger.Condition(
                    "OLD.fingerprint <> '{}'::jsonb AND NEW.fingerprint IS DISTINCT FROM OLD.fingerprint"
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        return f"{self.family.name}@{self.snapshot}"

    # Predicates for the pages (templates ask these instead of comparing status strings).
    @property
    def is_retired(self) -> bool:
        return self.status == SnapshotStatus.RETIRED

    @property
    def is_default(self) -> bool:
        """Its family's default (no query when the family is loaded with the snapshot)."""
        return self.family.default_snapshot_id == self.pk

    def clean(self) -> None:
        shape = "Use a release date (YYYY-MM-DD), a Replicate version id (64 hex digits) or a dated model name."
        if not re.match(SNAPSHOT_PATTERN, self.snapshot or ""):
            raise ValidationError({"snapshot": shape})
        if not re.fullmatch(r"[0-9a-f]{64}", self.snapshot):
            try:
                dt.date.fromisoformat(self.snapshot[-10:])
            except ValueError:
                raise ValidationError({"snapshot": "Use a real calendar date, YYYY-MM-DD."}) from None


# --- Workflows ----------------------------------------------------------------


class Mode(models.TextChoices):
    DISCOVERY = "discovery"
    PRODUCTION = "production"


class Lifecycle(models.TextChoices):
    EXPLORING = "exploring"
    PRODUCTION = "production"
    ARCHIVED = "archived"


class Visibility(models.TextChoices):
    INTERNAL = "internal"
    PUBLIC = "public"


class Channel(models.TextChoices):
    STANDARD = "standard"
    ALTERNATE = "alternate"
    SHADOW = "shadow"


class Bump(models.TextChoices):
    INITIAL = "initial"
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"


BUMP_ORDER = {Bump.INITIAL: 0, Bump.PATCH: 1, Bump.MINOR: 2, Bump.MAJOR: 3}

# What each bump class says about a version, in the pages' words (templates_app.bump has the rules).
BUMP_MEANING: dict[str, str] = {
    Bump.INITIAL: "the workflow's first version",
    Bump.PATCH: "patch: only a newer snapshot of the same model, or no change in behaviour",
    Bump.MINOR: "minor: a prompt, parameter, same-tier model, new output, gates or budget changed",
    Bump.MAJOR: "major: what comes out changes (step graph, an output's source or shape, a model of another tier)",
}


# What the forms promise: "lowercase letters, digits and dashes" (a slug is permanent, and appears in URLs).
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
SLUG_RULE = RegexValidator(
    SLUG_PATTERN, "Use lowercase letters, digits and single dashes, e.g. campaign-a-warm-earthy.", code="invalid_slug"
)


class WorkflowQuerySet(models.QuerySet["Workflow"]):
    def visible_to(self, user: Any) -> WorkflowQuerySet:
        """Team members see every workflow; others only those with a public version."""
        if role_of(user) >= Role.OPERATOR:
            return self
        return self.filter(pk__in=WorkflowVersion.objects.filter(visibility=Visibility.PUBLIC).values("workflow_id"))

    def with_pointers(self) -> WorkflowQuerySet:
        return self.select_related("canonical_version", "derived_from", "derived_from_version")

    def search(self, text: str) -> WorkflowQuerySet:
        """Workflows whose slug, name, description or direction label contain the text (any case)."""
        if not text:
            return self
        return self.filter(
            Q(slug__icontains=text)
            | Q(name__icontains=text)
            | Q(description__icontains=text)
            | Q(direction_label__icontains=text)
        )


class Workflow(models.Model):
    slug = models.SlugField(max_length=100, unique=True, validators=[SLUG_RULE])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    canonical_version = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.DISCOVERY)
    lifecycle = models.CharField(max_length=12, choices=Lifecycle.choices, default=Lifecycle.EXPLORING)
    derived_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="directions")
    derived_from_version = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="derived_directions"
    )
    direction_label = models.CharField(max_length=100, blank=True)
    spawned_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="spawned_siblings",
        help_text="The workflow whose contract change led to this sibling.",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(condition=Q(mode__in=Mode.values), name="workflow_mode_valid"),
            models.CheckConstraint(condition=Q(slug__regex=SLUG_PATTERN), name="workflow_slug_format"),
            models.CheckConstraint(condition=Q(lifecycle__in=Lifecycle.values), name="workflow_lifecycle_valid"),
            models.CheckConstraint(
                condition=Q(derived_from__isnull=True, derived_from_version__isnull=True, direction_label="")
                | Q(derived_from__isnull=False, derived_from_version__isnull=False),
                name="direction_fields_together",
            ),
        ]
        triggers: ClassVar[list[Any]] = [
            pgtrigger.Protect(name="workflow_no_delete", operation=pgtrigger.Delete),
            pgtrigger.ReadOnly(name="workflow_slug_frozen", fields=["slug", "derived_from", "derived_from_version"]),
        ]

    def __str__(self) -> str:
        return self.slug

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError("Workflows are never deleted; archive them instead.")

    @property
    def is_archived(self) -> bool:
        return self.lifecycle == Lifecycle.ARCHIVED

    def refuse_if_archived(self, action: str) -> None:
        """An archived workflow stays readable but nothing new is made from it (it runs, publishes
        and is approved again only once an admin resurrects it)."""
        if self.is_archived:
            raise Conflict(
                f"'{self.slug}' is archived; an admin must resurrect it before you {action}.", code="workflow_archived"
            )

    # Predicates for the pages: templates ask these instead of comparing lifecycle/mode strings.
    @property
    def exploring(self) -> bool:
        return self.lifecycle == Lifecycle.EXPLORING

    @property
    def approved_for_production(self) -> bool:
        """The approved direction (lifecycle), which is not the same as running in production mode."""
        return self.lifecycle == Lifecycle.PRODUCTION

    @property
    def in_production_mode(self) -> bool:
        return self.mode == Mode.PRODUCTION


# --- Drafts -------------------------------------------------------------------


class DraftQuerySet(models.QuerySet["Draft"]):
    def open(self) -> DraftQuerySet:
        return self.filter(discarded_at__isnull=True, published_version__isnull=True)

    def visible_to(self, user: Any) -> DraftQuerySet:
        return self if role_of(user) >= Role.OPERATOR else self.none()


class Draft(models.Model):
    """A mutable, possibly incomplete definition; publishing mints a version."""

    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="drafts")
    definition = models.JSONField(default=dict, decoder=LegacyDepthDecoder)
    based_on = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="drafts_based_on"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="drafts")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # A discarded draft is hidden, not deleted: nothing is ever lost.
    discarded_at = models.DateTimeField(null=True, blank=True)
    published_version = models.OneToOneField(
        "WorkflowVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="source_draft"
    )

    objects = DraftQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"draft #{self.pk} of {self.workflow_id}"

    @property
    def is_open(self) -> bool:
        return self.discarded_at is None and self.published_version_id is None


# --- Immutable versions ---------------------------------------------------------

FROZEN_VERSION_FIELDS = [
    "workflow",
    "version",
    "sequence",
    "definition",
    "manifest",
    "manifest_hash",
    "bump",
    "message",
    "published_by",
    "published_at",
]

# What a publish message may hold: one short line saying why, like a commit subject.
VERSION_MESSAGE_MAX = 200


class WorkflowVersionQuerySet(AppendOnlyQuerySet):
    def visible_to(self, user: Any) -> WorkflowVersionQuerySet:
        """Anonymous and role-less users see public versions only; the team sees all."""
        if role_of(user) >= Role.OPERATOR:
            return self
        return self.filter(visibility=Visibility.PUBLIC)


class WorkflowVersion(models.Model):
    """An immutable published definition. Only visibility (upwards) and channel change."""

    FROZEN_FIELDS: ClassVar[list[str]] = FROZEN_VERSION_FIELDS
    ONE_WAY: ClassVar[dict[str, Any]] = {"visibility": "internal"}  # visibility only rises

    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=20, help_text="YYYY.MM.DD of the publishing day (UTC), then .2, .3 …")
    sequence = models.PositiveIntegerField(help_text="1, 2, 3 … per workflow, in publishing order.")
    definition = models.JSONField()
    manifest = models.TextField(help_text="The definition as RFC 8785 canonical JSON.")
    manifest_hash = models.CharField(max_length=71, db_index=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.INTERNAL)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.STANDARD)
    bump = models.CharField(max_length=10, choices=Bump.choices)
    message = models.CharField(
        max_length=VERSION_MESSAGE_MAX,
        blank=True,
        default="",
        help_text="Why it was published, in the publisher's words.",
    )
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField()

    objects = WorkflowVersionQuerySet.as_manager()

    class Meta:
        ordering = ["workflow", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "version"], name="unique_workflow_version"),
            models.UniqueConstraint(fields=["workflow", "sequence"], name="unique_workflow_sequence"),
            models.CheckConstraint(
                condition=Q(version__regex=r"^\d{4}\.\d{2}\.\d{2}(\.[1-9][0-9]*)?$"), name="version_string_shape"
            ),
            models.CheckConstraint(
                condition=Q(manifest_hash__regex=r"^sha256:[0-9a-f]{64}$"), name="manifest_hash_shape"
            ),
            models.CheckConstraint(condition=Q(visibility__in=Visibility.values), name="version_visibility_valid"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="version_channel_valid"),
            models.CheckConstraint(condition=Q(bump__in=Bump.values), name="version_bump_valid"),
            models.CheckConstraint(
                condition=~Q(channel=Channel.SHADOW, visibility=Visibility.PUBLIC), name="shadow_never_public"
            ),
        ]
        triggers: ClassVar[list[Any]] = [
            pgtrigger.Protect(name="version_no_delete", operation=pgtrigger.Delete),
            pgtrigger.ReadOnly(name="version_frozen", fields=FROZEN_VERSION_FIELDS),
            pgtrigger.Protect(
                name="version_visibility_only_up",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__visibility=Visibility.PUBLIC, new__visibility=Visibility.INTERNAL),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id and self.workflow.slug}@{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            self._refuse_frozen_changes()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableRowError("Published versions are immutable and cannot be deleted.")

    def _refuse_frozen_changes(self) -> None:
        stored = (
            WorkflowVersion.objects.filter(pk=self.pk)
            .values(*[f.attname for f in self._frozen_model_fields()], "visibility")
            .first()
        )
        if stored is None:
            return
        changed = [f.name for f in self._frozen_model_fields() if stored[f.attname] != getattr(self, f.attname)]
        if changed:
            raise ImmutableRowError(f"Version {self.version} is immutable; cannot change {', '.join(changed)}.")
        if stored["visibility"] == Visibility.PUBLIC and self.visibility != Visibility.PUBLIC:
            raise ImmutableRowError("Visibility only rises: a public version cannot become internal again.")

    @classmethod
    def _frozen_model_fields(cls) -> list[models.Field[Any, Any]]:
        return [cls._meta.get_field(name) for name in FROZEN_VERSION_FIELDS]  # type: ignore[misc]

    # Predicates for the pages: templates ask these instead of comparing channel/visibility strings.
    @property
    def is_internal(self) -> bool:
        return self.visibility == Visibility.INTERNAL

    @property
    def on_shadow_channel(self) -> bool:
        return self.channel == Channel.SHADOW

    @property
    def on_standard_channel(self) -> bool:
        return self.channel == Channel.STANDARD

    @property
    def bump_explained(self) -> str:
        return BUMP_MEANING.get(self.bump, self.bump)


# --- Pointer history ------------------------------------------------------------


class Pointer(models.TextChoices):
    # The labels are what the pointer history shows; the values are what the API answers.
    CANONICAL = "canonical", "canonical"
    CHANNEL = "channel", "channel"
    VISIBILITY = "visibility", "visibility"
    LIFECYCLE = "lifecycle", "lifecycle"
    MODE = "mode", "mode"
    PRODUCTION_PIN = "production_pin", "production pin"
    DEFAULT_SNAPSHOT = "default_snapshot", "default snapshot"
    SNAPSHOT_STATUS = "snapshot_status", "snapshot status"


class PointerMoveQuerySet(AppendOnlyQuerySet):
    def for_workflow(self, workflow: Workflow) -> PointerMoveQuerySet:
        return self.filter(workflow=workflow).select_related("actor", "version")

    def log(
        self,
        pointer: Pointer,
        *,
        actor: User | None,
        workflow: Workflow | None = None,
        version: WorkflowVersion | None = None,
        family: ModelFamily | None = None,
        before: Any = "",
        after: Any = "",
        reason: str = "",
        evidence: Any = None,
        evidence_waived: bool = False,
    ) -> PointerMove:
        """Write one move into the history: every pointer move of either app is logged here."""
        return self.create(
            pointer=pointer,
            workflow=workflow,
            version=version,
            model_family=family,
            from_value=str(before or ""),
            to_value=str(after or ""),
            reason=reason,
            actor=actor,
            evidence=evidence,
            evidence_waived=evidence_waived,
        )

    def canonical_at(self, workflow: Workflow, when: dt.datetime) -> str | None:
        """The canonical version string in force at `when` (None before the first)."""
        move = self.filter(workflow=workflow, pointer=Pointer.CANONICAL, at__lte=when).order_by("-at", "-id").first()
        return move.to_value or None if move else None


class PointerMove(models.Model):
    """One move of a pointer: who, when, from what, to what and why. Append-only."""

    FROZEN_FIELDS: ClassVar[list[str]] = [
        "workflow",
        "version",
        "model_family",
        "pointer",
        "from_value",
        "to_value",
        "reason",
        "actor",
        "at",
        "evidence",
        "evidence_waived",
    ]

    workflow = models.ForeignKey(
        Workflow, null=True, blank=True, on_delete=models.PROTECT, related_name="pointer_moves"
    )
    version = models.ForeignKey(
        WorkflowVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="pointer_moves"
    )
    model_family = models.ForeignKey(
        ModelFamily, null=True, blank=True, on_delete=models.PROTECT, related_name="pointer_moves"
    )
    pointer = models.CharField(max_length=20, choices=Pointer.choices)
    from_value = models.CharField(max_length=200, blank=True)
    to_value = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # A canonical move names its evidence (DESIGN §14): the evaluation it was promoted with (an id of
    # runs_app's Evaluation, a layer above: no foreign key from here), or an admin's waiver, whose
    # reason is `reason`. A workflow's first canonical version needs neither.
    evidence = models.UUIDField(null=True, blank=True, help_text="The evaluation this promotion was made with.")
    evidence_waived = models.BooleanField(default=False, help_text="An admin promoted without evidence.")

    objects = PointerMoveQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(pointer__in=Pointer.values), name="pointer_kind_valid"),
            models.CheckConstraint(
                condition=Q(workflow__isnull=False) | Q(model_family__isnull=False), name="pointer_has_subject"
            ),
            models.CheckConstraint(
                condition=Q(evidence__isnull=True, evidence_waived=False) | Q(pointer=Pointer.CANONICAL),
                name="pointer_evidence_only_canonical",
            ),
            models.CheckConstraint(
                condition=Q(evidence_waived=False) | (Q(evidence__isnull=True) & ~Q(reason="")),
                name="pointer_waiver_has_reason",
            ),
        ]
        triggers: ClassVar[list[Any]] = [
            pgtrigger.Protect(name="pointer_history_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.pointer}: {self.from_value or '∅'} → {self.to_value or '∅'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableRowError("Pointer history is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableRowError("Pointer history is append-only.")

    @property
    def evidence_url(self) -> str | None:
        """The page of the evaluation this move was made with."""
        return f"/evaluations/{self.evidence}/" if self.evidence else None
