"""Runs, their steps, content-addressed artifacts, version records and
reproduction checks. The Run row is the truth; Celery tasks are disposable."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote as urlquote

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property

from core.querysets import AppendOnlyQuerySet, ImmutableRowError
from core.roles import Role, role_of
from templates_app.models import Bump, Lifecycle, Mode, Workflow, WorkflowQuerySet, WorkflowVersion

SHA256_HEX = r"^[0-9a-f]{64}$"


class Artifact(models.Model):
    """A stored file named by the sha256 of its bytes; written once, never changed."""

    class Kind(models.TextChoices):
        OUTPUT = "output"
        REFERENCE = "reference"
        DIFFERENCE = "difference"  # where a reproduction's output differs from the stored one
        SIGNED = "signed"  # a record output's C2PA-signed copy (runs_app.signing)
        SHEET = "sheet"  # a contact sheet: its cells' outputs in one labelled grid

    sha256 = models.CharField(max_length=64, primary_key=True)
    storage_key = models.CharField(max_length=200)
    media_type = models.CharField(max_length=50)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    frames = models.PositiveIntegerField(default=1)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(sha256__regex=SHA256_HEX), name="artifact_sha256_shape")]
        triggers: ClassVar[list[Any]] = [
            pgtrigger.Protect(name="artifact_no_delete", operation=pgtrigger.Delete),
            pgtrigger.ReadOnly(name="artifact_frozen", fields=["sha256", "storage_key", "media_type", "size"]),
        ]

    def __str__(self) -> str:
        return self.sha256

    @property
    def url(self) -> str:
        return f"/artifacts/{self.sha256}"


# What finalisation accepts (docs/api.md, Limits): runs_app.services.finalize_run refuses longer
# ones, and the finalisation form counts against the same numbers as people type.
LABEL_MAX_LENGTH = 60
ANNOTATION_MAX_LENGTH = 20_000


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    AWAITING_GATE = "awaiting_gate", "Paused at a gate"
    AWAITING_ANNOTATION = "awaiting_annotation", "Awaiting annotation"
    RECORDING = "recording", "Writing the record"
    FINALIZED = "finalized", "Finalized"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    # Finished and set aside without a record (DESIGN §15): kept whole, and still finalisable.
    DISCARDED = "discarded", "Discarded"


# A run whose annotation form is open: awaiting it, or discarded and still finalisable later.
FINALIZABLE = (RunStatus.AWAITING_ANNOTATION, RunStatus.DISCARDED)


class RunPurpose(models.TextChoices):
    """Why a run was made. Only a `record` run waits for an annotation and leaves a version record;
    the others end `finalized` with no record, and what they feed keeps their outputs."""

    RECORD = "record", "Makes a version record"
    REPRODUCTION = "reproduction", "Reproduces a record"
    EVALUATION = "evaluation", "Evidence for moving the canonical pointer"
    CONTACT_SHEET = "contact_sheet", "A cell of a contact sheet"


# Runs that end without an annotation or a record: a worker finishes them (runs_app.execution.finish_run).
RUNS_WITHOUT_RECORD = (RunPurpose.REPRODUCTION, RunPurpose.EVALUATION, RunPurpose.CONTACT_SHEET)


class RunQuerySet(models.QuerySet["Run"]):
    def visible_to(self, user: Any) -> RunQuerySet:
        return self if role_of(user) >= Role.OPERATOR else self.none()

    def generating(self) -> RunQuerySet:
        """Runs that hold, or wait for, a worker: what the per-user quota counts."""
        return self.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.AWAITING_GATE))

    def with_detail(self) -> RunQuerySet:
        return self.select_related("workflow", "version", "created_by", "record").prefetch_related(steps_in_order())

    def with_thumbnail(self) -> RunQuerySet:
        """Each run's `thumbnail_sha`: the sha256 of the output its latest step made so far (None
        before), in the same query as the runs (lists pay no query per row; SQLite and PostgreSQL)."""
        made = RunStep.objects.filter(run=models.OuterRef("pk"), output__isnull=False).order_by("-index")
        return self.annotate(thumbnail_sha=models.Subquery(made.values("output_id")[:1]))


def steps_in_order() -> models.Prefetch[Any]:
    """A run's steps in order with their outputs: `run.steps.all()` then reads them without a query."""
    return models.Prefetch("steps", queryset=RunStep.objects.select_related("output").order_by("index"))


class Run(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="runs")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="runs")
    mode = models.CharField(max_length=12, choices=Mode.choices)
    status = models.CharField(max_length=24, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    inputs = models.JSONField(default=dict)
    specification = models.JSONField()
    spec_hash = models.CharField(max_length=71)
    drift_warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="runs")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Lease: the worker holding the run renews it; an expired lease means the worker died.
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    last_enqueued_at = models.DateTimeField(null=True, blank=True, help_text="When the sweep last re-sent the run.")
    error_code = models.CharField(max_length=40, blank=True, help_text="Why it failed, for machines: step_timeout …")
    gate_after = models.CharField(max_length=200, blank=True, help_text="The step after which it waits at a gate.")
    deadline_at = models.DateTimeField(
        null=True, blank=True, help_text="When policy.budget.max_seconds runs out (moved on by time spent at gates)."
    )
    # Finalisation, stored durably in the request that submits the annotation form. The lengths
    # people may give are LABEL_MAX_LENGTH and ANNOTATION_MAX_LENGTH, checked by services.finalize_run.
    label = models.CharField(max_length=80, blank=True)
    annotation = models.TextField(blank=True)
    saved_without_annotation = models.BooleanField(default=False)
    annotated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="annotated_runs"
    )
    annotated_at = models.DateTimeField(null=True, blank=True)
    # A reproduction run checks a record instead of making one.
    reproduces = models.ForeignKey(
        "VersionRecord", null=True, blank=True, on_delete=models.PROTECT, related_name="reproductions"
    )
    # Discovery batches (DESIGN §15): the batch it belongs to and the parameter values swept into it
    # ({"<step>.<param>": value}; empty for a batch of seeds or a run of its own).
    batch = models.ForeignKey("Batch", null=True, blank=True, on_delete=models.PROTECT, related_name="runs")
    swept = models.JSONField(default=dict, blank=True)
    # A retry of a failed run: the same specification, its succeeded steps reused (RunStep.reused_from).
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="retries")
    purpose = models.CharField(max_length=16, choices=RunPurpose.choices, default=RunPurpose.RECORD)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_by", "status", "-created_at"], name="run_by_user_status")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="run_status_valid"),
            models.CheckConstraint(condition=Q(spec_hash__regex=r"^sha256:[0-9a-f]{64}$"), name="run_spec_hash_shape"),
            models.CheckConstraint(
                condition=~Q(status__in=[RunStatus.RECORDING, RunStatus.FINALIZED], purpose=RunPurpose.RECORD)
                | Q(saved_without_annotation=True)
                | ~Q(annotation=""),
                name="run_recorded_only_with_annotation_or_confirmation",
            ),
            models.CheckConstraint(condition=Q(purpose__in=RunPurpose.values), name="run_purpose_valid"),
            models.CheckConstraint(
                condition=Q(purpose=RunPurpose.REPRODUCTION, reproduces__isnull=False)
                | (~Q(purpose=RunPurpose.REPRODUCTION) & Q(reproduces__isnull=True)),
                name="run_reproduces_iff_reproduction",
            ),
        ]
        triggers: ClassVar[list[Any]] = [
            pgtrigger.Protect(name="run_no_delete", operation=pgtrigger.Delete),
            pgtrigger.ReadOnly(
                name="run_spec_frozen",
                fields=["workflow", "version", "specification", "spec_hash", "inputs", "mode", "purpose"],
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.id} of {self.workflow_id}"

    def outputs_by_name(self) -> dict[str, Artifact]:
        """Each named output of the run → the artifact its step made; outputs not made yet are left out.

        Reads `self.steps.all()`: prefetch them with `steps_in_order()` (or `with_detail()`)."""
        by_id = {s.step_id: s for s in self.steps.all()}
        made = {}
        for name, step_id in self.specification.get("outputs", {}).items():
            step = by_id.get(step_id)
            if step is not None and step.output is not None:
                made[name] = step.output
        return made

    def output_files(self) -> list[RunOutput]:
        """The outputs made so far as the run page offers them, saved as `<workflow>-run-<id>-<output>`."""
        return [
            RunOutput(name, art, download_url(art.url, f"{self.workflow.slug}-run-{str(self.pk)[:8]}-{name}"))
            for name, art in self.outputs_by_name().items()
        ]

    def gates_reached(self) -> list[RunGate]:
        """The gates it paused at, with who continued; no query for a workflow without gates."""
        if not (self.specification.get("policy") or {}).get("gates"):
            return []
        return list(self.gates.select_related("continued_by"))

    @property
    def progress(self) -> float:
        """Overall progress: finished steps count whole, a generating step by its own fraction."""
        steps = list(self.steps.all())
        if not steps:
            return 0.0
        return round(sum(s.fraction_done for s in steps) / len(steps), 4)

    @property
    def writes_record(self) -> bool:
        """It waits for an annotation and leaves a version record (reproductions, evaluations and
        contact sheet cells do neither)."""
        return self.purpose == RunPurpose.RECORD

    # Predicates for the pages: templates ask these instead of comparing status strings.
    @property
    def is_live(self) -> bool:
        """A worker may still change it: the run page keeps polling."""
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.AWAITING_GATE, RunStatus.RECORDING)

    @property
    def is_cancellable(self) -> bool:
        """What services.cancel_run accepts: queued, paused and idle runs stop now, a running step within a second."""
        return self.status in (
            RunStatus.QUEUED,
            RunStatus.RUNNING,
            RunStatus.AWAITING_GATE,
            RunStatus.AWAITING_ANNOTATION,
        )

    @property
    def awaits_gate(self) -> bool:
        """Paused after a gate's step: an operator continues or cancels it."""
        return self.status == RunStatus.AWAITING_GATE

    @property
    def awaits_annotation(self) -> bool:
        return self.status == RunStatus.AWAITING_ANNOTATION

    @property
    def status_text(self) -> str:
        """Its status in words. A run made for something else than a record ends `finalized` without
        one: say what it was for, not "Finalized" (which promises a record)."""
        if self.status == RunStatus.FINALIZED and self.purpose != RunPurpose.RECORD:
            return {
                RunPurpose.REPRODUCTION: "Reproduced",
                RunPurpose.EVALUATION: "Done · evaluation, no record",
                RunPurpose.CONTACT_SHEET: "Done · contact sheet, no record",
            }.get(RunPurpose(self.purpose), "Done")
        return str(self.get_status_display())

    @property
    def is_finalizable(self) -> bool:
        """Its annotation form is open: awaiting it, or discarded (a discarded run can still be finalised)."""
        return self.status in FINALIZABLE and self.purpose == RunPurpose.RECORD

    @property
    def is_discarded(self) -> bool:
        return self.status == RunStatus.DISCARDED

    @property
    def is_failed(self) -> bool:
        return self.status == RunStatus.FAILED

    @property
    def is_retryable(self) -> bool:
        """What services.retry_run accepts: a failed run meant for a record (a reproduction, an evaluation
        or a contact sheet has its own way to be tried again)."""
        return self.status == RunStatus.FAILED and self.purpose == RunPurpose.RECORD

    @property
    def lease_expired(self) -> bool:
        """A step of it is held by a worker whose lease ran out: that worker died, the sweep will send
        it again. Reads `self.steps.all()` (prefetch them)."""
        now = timezone.now()
        return any(
            s.status == StepStatus.RUNNING and s.lease_expires_at is not None and s.lease_expires_at < now
            for s in self.steps.all()
        )

    @property
    def is_recording(self) -> bool:
        return self.status == RunStatus.RECORDING


class StepStatus(models.TextChoices):
    PENDING = "pending"  # waiting for the steps it reads
    QUEUED = "queued"  # ready, sent to its queue, waiting for a worker
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class RunStep(models.Model):
    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="steps")
    index = models.PositiveIntegerField()
    step_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=20)
    model = models.CharField(max_length=200, blank=True)  # family@snapshot: a family of 100, a snapshot of up to 100
    seed = models.BigIntegerField(null=True, blank=True)
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=StepStatus.choices, default=StepStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    output = models.ForeignKey(Artifact, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    # Execution (DESIGN §4): the queue it is sent to, the lease of the worker generating it, live progress.
    provider = models.CharField(max_length=50, default="builtin")
    queue = models.CharField(max_length=100, default="floniks")
    timeout_seconds = models.PositiveIntegerField(default=600, help_text="Its policy's, else its provider's default.")
    retries = models.PositiveSmallIntegerField(default=2, help_text="Tries again on transient provider errors.")
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When it was last sent to its queue.")
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    progress = models.FloatField(default=0.0)
    progress_message = models.CharField(max_length=200, blank=True)
    fingerprint = models.JSONField(default=dict, blank=True, help_text="The environment that generated it.")
    submitted = models.JSONField(null=True, blank=True, help_text="What was sent to an external provider.")
    # A retried run's step that had already succeeded: its output, duration and fingerprint are the
    # original step's, copied, not generated again (the specification, seed included, is the same).
    reused_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="Reused, not generated."
    )

    class Meta:
        ordering = ["run", "index"]
        # A worker with nothing left to run takes the step waiting longest on its queue (runs_app.execution).
        indexes = [models.Index(fields=["queue", "status", "sent_at"], name="runstep_waiting_on_queue")]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="unique_run_step_index"),
            models.UniqueConstraint(fields=["run", "step_id"], name="unique_run_step_id"),
            models.CheckConstraint(condition=Q(status__in=StepStatus.values), name="step_status_valid"),
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=1), name="step_progress_fraction"),
        ]

    def __str__(self) -> str:
        return f"{self.step_id} ({self.status})"

    @property
    def fraction_done(self) -> float:
        """How far along it is, 0..1: finished steps count whole, a generating one by its reported progress."""
        if self.status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED):
            return 1.0
        return self.progress if self.status == StepStatus.RUNNING else 0.0

    @property
    def percent(self) -> int:
        return round(self.fraction_done * 100)

    @property
    def is_generating(self) -> bool:
        return self.status == StepStatus.RUNNING

    @property
    def is_reused(self) -> bool:
        return self.reused_from_id is not None

    @property
    def lease_expired(self) -> bool:
        return (
            self.status == StepStatus.RUNNING
            and self.lease_expires_at is not None
            and self.lease_expires_at < timezone.now()
        )

    @property
    def waits_for_worker(self) -> bool:
        """Ready and sent to its queue; no worker has taken it yet."""
        return self.status == StepStatus.QUEUED


class BatchQuerySet(models.QuerySet["Batch"]):
    def visible_to(self, user: Any) -> BatchQuerySet:
        return self if role_of(user) >= Role.OPERATOR else self.none()

    def for_list(self) -> BatchQuerySet:
        """Batches with their workflow, version and starter, and how many of their runs are in each
        state, in one query (`run_count`, `live_count`, `finalized_count`)."""
        live = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.AWAITING_GATE, RunStatus.RECORDING)
        return self.select_related("workflow", "version", "created_by").annotate(
            run_count=models.Count("runs"),
            live_count=models.Count("runs", filter=Q(runs__status__in=live)),
            finalized_count=models.Count("runs", filter=Q(runs__status=RunStatus.FINALIZED)),
        )


class Batch(models.Model):
    """A discovery batch (DESIGN §15): runs of one version and inputs with fresh seeds, or a sweep
    over one or two parameters' values. Its runs are ordinary runs; the batch only groups them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="batches")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="batches")
    inputs = models.JSONField(default=dict)
    count = models.PositiveSmallIntegerField(default=1, help_text="Seeds per combination of swept values.")
    sweep = models.JSONField(default=dict, blank=True, help_text='{"<step>.<param>": [values]}')
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="batches")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = BatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(count__gte=1, count__lte=64), name="batch_count_range")]

    def __str__(self) -> str:
        return f"batch {self.id} of {self.workflow_id}"

    @property
    def is_sweep(self) -> bool:
        return bool(self.sweep)


class WorkerHeartbeat(models.Model):
    """A worker says it is alive: its sweep thread writes this row every FLONIKS_SWEEP_SECONDS (one
    cheap UPDATE), so the queue page knows who is alive without asking the broker."""

    name = models.CharField(max_length=200, primary_key=True)
    queues = models.JSONField(default=list)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.name


class RunGate(models.Model):
    """A gate a run reached (policy.gates): where it paused, and who let it go on, when."""

    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="gates")
    after = models.CharField(max_length=200, help_text="The step after which the run paused.")
    reached_at = models.DateTimeField()
    continued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    continued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["reached_at"]
        constraints = [
            models.UniqueConstraint(fields=["run", "after"], name="unique_run_gate"),
            models.CheckConstraint(
                condition=Q(continued_by__isnull=True, continued_at__isnull=True)
                | Q(continued_by__isnull=False, continued_at__isnull=False),
                name="gate_continued_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"gate after {self.after} of run {self.run_id}"


class RecordSequence(models.Model):
    """The last record number handed out per workflow; its row lock keeps numbers gap-free."""

    workflow = models.OneToOneField(Workflow, primary_key=True, on_delete=models.PROTECT, related_name="+")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.workflow_id}: {self.last_number}"


FROZEN_RECORD_FIELDS = [
    "run",
    "workflow",
    "version",
    "number",
    "label",
    "manifest_hash",
    "spec_hash",
    "mode",
    "run_at",
    "inputs",
    "parameters",
    "seeds",
    "step_models",
    "subworkflows",
    "reference_images",
    "outputs",
    "gates",
    "annotation",
    "saved_without_annotation",
    "annotated_by",
    "created_at",
    "origin_instance",
    "origin_record_id",
    "origin",
    "imported_by",
    "imported_at",
]


class VersionRecordQuerySet(AppendOnlyQuerySet):
    def visible_to(self, user: Any) -> VersionRecordQuerySet:
        return self if role_of(user) >= Role.OPERATOR else self.none()

    def for_list(self) -> VersionRecordQuerySet:
        """Records with the little that lists show of their workflow, version and people."""
        return self._with_shown()

    def for_detail(self) -> VersionRecordQuerySet:
        """One record as its page and the API show it, with its version's definition, which
        the drift warnings expand. Its checks come from `VersionRecord.checks_shown()`."""
        return self._with_shown("version__definition")

    def with_signed_copies(self) -> VersionRecordQuerySet:
        """With each record's signed copies (`signed_outputs`), in one more query, for what shows them."""
        return self.prefetch_related(
            models.Prefetch("signed_copies", queryset=SignedOutput.objects.only("record_id", "name", "artifact_id"))
        )

    def _with_shown(self, *extra: str) -> VersionRecordQuerySet:
        # Only the related columns that are shown: version definitions, manifests and password
        # hashes are not read or decoded on every page (an unlisted one costs one query when read).
        return self.select_related("workflow", "version", "annotated_by", "approved_by", "imported_by").only(
            *_columns(VersionRecord),
            "workflow__slug",
            "version__version",
            "annotated_by__username",
            "approved_by__username",
            "imported_by__username",
            *extra,
        )


def _columns(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields]


class VersionRecord(models.Model):
    """What a finalised run leaves behind: enough to reproduce it with nothing else."""

    FROZEN_FIELDS: ClassVar[list[str]] = FROZEN_RECORD_FIELDS
    # Approval is given once and the legacy flag, once raised, stays: neither is ever taken back.
    ONE_WAY: ClassVar[dict[str, Any]] = {"approved_at": None, "approved_by": None, "legacy_required": False}

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run = models.OneToOneField(Run, on_delete=models.PROTECT, related_name="record")
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="records")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="records")
    number = models.PositiveIntegerField()
    label = models.CharField(max_length=120)
    manifest_hash = models.CharField(max_length=71)
    spec_hash = models.CharField(max_length=71)
    mode = models.CharField(max_length=12, choices=Mode.choices)
    run_at = models.DateTimeField()
    inputs = models.JSONField()
    parameters = models.JSONField()
    seeds = models.JSONField()
    step_models = models.JSONField(help_text="step → family@snapshot")
    subworkflows = models.JSONField(default=dict, help_text="sub-workflow step → {workflow, version, manifest_hash}")
    reference_images = models.JSONField()
    outputs = models.JSONField()
    gates = models.JSONField(default=list, blank=True, help_text="[{after, continued_by, continued_at}]")
    annotation = models.TextField(blank=True)
    saved_without_annotation = models.BooleanField(default=False)
    annotated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    legacy_required = models.BooleanField(default=False)
    # A record imported from a bundle (runs_app.bundles) names where it came from; empty for one made here.
    origin_instance = models.CharField(max_length=200, blank=True, help_text="The instance it was exported from.")
    origin_record_id = models.UUIDField(null=True, blank=True, help_text="Its id on that instance.")
    origin = models.JSONField(
        default=dict,
        blank=True,
        help_text="What it was there: number, label, annotated_by, approved_by, approved_at, created_at, origin",
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(null=True, blank=True)

    objects = VersionRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="unique_record_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="record_number_positive"),
            models.CheckConstraint(
                condition=Q(saved_without_annotation=True) | ~Q(annotation=""), name="record_annotated_or_confirmed"
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True, approved_at__isnull=True)
                | Q(approved_by__isnull=False, approved_at__isnull=False),
                name="record_approval_complete",
            ),
            models.UniqueConstraint(
                fields=["origin_instance", "origin_record_id"],
                condition=Q(origin_record_id__isnull=False),
                name="unique_imported_record",
            ),
            models.CheckConstraint(
                condition=Q(origin_record_id__isnull=True, origin_instance="", imported_at__isnull=True)
                | Q(origin_record_id__isnull=False, imported_at__isnull=False, imported_by__isnull=False)
                & ~Q(origin_instance=""),
                name="record_import_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["workflow", "-created_at"], name="record_workflow_recent"),
            models.Index(fields=["-created_at", "-id"], name="record_history_order"),  # the history page's keyset
        ]
        triggers: ClassVar[list[Any]] = [
            pgtrigger.Protect(name="record_no_delete", operation=pgtrigger.Delete),
            pgtrigger.ReadOnly(name="record_frozen", fields=FROZEN_RECORD_FIELDS),
            pgtrigger.Protect(
                name="record_approval_once",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(
                    old__approved_at__isnull=False, new__approved_at__df=pgtrigger.F("old__approved_at")
                )
                | pgtrigger.Q(old__approved_by__isnull=False, new__approved_by__df=pgtrigger.F("old__approved_by")),
            ),
            pgtrigger.Protect(
                name="record_legacy_stays",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__legacy_required=True, new__legacy_required=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id}#{self.number} {self.label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            columns = [f.attname for f in self._meta.concrete_fields if f.name in FROZEN_RECORD_FIELDS]
            stored = VersionRecord.objects.filter(pk=self.pk).values(*columns).first()
            if stored and any(stored[k] != getattr(self, k) for k in stored):
                raise ImmutableRowError("A version record is immutable; only approval and the legacy flag change.")
            before = VersionRecord.objects.filter(pk=self.pk).values("approved_at", "legacy_required").first()
            if before and (
                (before["approved_at"] is not None and before["approved_at"] != self.approved_at)
                or (before["legacy_required"] and not self.legacy_required)
            ):
                raise ImmutableRowError("Approval and the legacy flag are never taken back.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableRowError("Version records are never deleted.")

    def checks_shown(self) -> list[ReproductionCheck]:
        # One plain query: a prefetch of the same rows costs twice the Python on every page view.
        return list(self.checks.shown())

    @property
    def first_output(self) -> dict[str, Any] | None:
        """The first named output, for thumbnails in lists."""
        return next(iter(self.outputs.values()), None)

    @property
    def is_approved(self) -> bool:
        return self.approved_at is not None

    @property
    def is_imported(self) -> bool:
        """Made on another instance and imported here from a bundle (its origin says where)."""
        return self.origin_record_id is not None

    @property
    def signed_outputs(self) -> dict[str, dict[str, str]]:
        """Each signed output → its C2PA-signed copy {sha256, url}, in the order of `outputs`."""
        copies = {c.name: c.artifact_id for c in self.signed_copies.all()}
        return {n: {"sha256": copies[n], "url": f"/artifacts/{copies[n]}"} for n in self.outputs if n in copies}

    def file_stem(self, output: str) -> str:
        """What an output's file is called outside Floniks: its download and its signed manifest's title."""
        return f"{self.workflow.slug}-{self.label}-{output}"

    @cached_property
    def files(self) -> list[OutputFile]:
        """Each output as the record page offers it: the original and its signed copy (when made),
        each saved under its file stem rather than its hash."""
        signed = self.signed_outputs
        files = []
        for name, out in self.outputs.items():
            copy = signed.get(name)
            files.append(
                OutputFile(
                    name=name,
                    sha256=out["sha256"],
                    url=out["url"],
                    download=download_url(out["url"], self.file_stem(name)),
                    signed_sha256=copy["sha256"] if copy else None,
                    signed_download=download_url(copy["url"], f"{self.file_stem(name)}-signed") if copy else None,
                )
            )
        return files

    @property
    def signing_pending(self) -> bool:
        """An output still waits for its signed copy (signing runs after the record is written)."""
        return len(self.signed_outputs) < len(self.outputs)


class PendingSignature(models.Model):
    """A record whose outputs wait for their C2PA-signed copies: written with the record, deleted
    when its copies are linked. The sweep reads these few rows to find what to sign, never every
    record (a scan of 10^6 records took ~190 ms each sweep). `signing_pending` stays the truth."""

    record = models.OneToOneField(VersionRecord, primary_key=True, on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"record {self.record_id} waits to be signed"


def download_url(url: str, stem: str) -> str:
    """An artifact URL that saves the file as `stem` (runs_app.views.download_name cleans it)."""
    return f"{url}?download={urlquote(stem)}"


@dataclass(frozen=True)
class RunOutput:
    name: str
    artifact: Artifact
    download: str


@dataclass(frozen=True)
class OutputFile:
    name: str
    sha256: str
    url: str
    download: str
    signed_sha256: str | None
    signed_download: str | None


class SignedOutput(models.Model):
    """A record output's C2PA-signed copy (DESIGN §13): its own artifact, the original untouched.

    Written after the record, on a worker (runs_app.services.sign_record); a record with fewer of
    these than outputs is "signing pending" and the sweep signs it. Append-only."""

    FROZEN_FIELDS: ClassVar[list[str]] = ["record", "name", "original", "artifact"]

    record = models.ForeignKey(VersionRecord, on_delete=models.PROTECT, related_name="signed_copies")
    name = models.CharField(max_length=200, help_text="The output's name in the record.")
    original = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="+")
    artifact = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="signed_from")
    signer = models.CharField(max_length=300, blank=True, help_text="Who signed it, as its certificate names them.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["record", "name"], name="one_signed_copy_per_output")]
        triggers: ClassVar[list[Any]] = [
            pgtrigger.Protect(name="signed_output_append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.record_id} {self.name}: {self.artifact_id}"


class RecordModel(models.Model):
    """One (step, model snapshot) of a record, indexed for the history filter. Append-only."""

    FROZEN_FIELDS: ClassVar[list[str]] = ["record", "step", "family", "snapshot"]

    record = models.ForeignKey(VersionRecord, on_delete=models.PROTECT, related_name="model_rows")
    step = models.CharField(max_length=200)
    family = models.CharField(max_length=100)
    snapshot = models.CharField(max_length=100)  # a date, a Replicate version id or a dated model name

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["family", "snapshot"], name="record_model_lookup")]
        triggers: ClassVar[list[Any]] = [
            pgtrigger.Protect(name="record_model_append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.step}: {self.family}@{self.snapshot}"


class RecordSeed(models.Model):
    """One (step, seed) of a record, indexed for the history filter. Append-only."""

    FROZEN_FIELDS: ClassVar[list[str]] = ["record", "step", "seed"]

    record = models.ForeignKey(VersionRecord, on_delete=models.PROTECT, related_name="seed_rows")
    step = models.CharField(max_length=200)
    seed = models.BigIntegerField(db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        triggers: ClassVar[list[Any]] = [
            pgtrigger.Protect(name="record_seed_append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.step}: {self.seed}"


class Verdict(models.TextChoices):
    # The labels are what the pages show; the values are what the API answers.
    PENDING = "pending", "Reproducing"
    EXACT = "exact", "Identical outputs"
    NEAR = "near", "Nearly identical outputs"
    DIFFERENT = "different", "Outputs differ"
    LEGACY_REQUIRED = "legacy_required", "Needs a legacy model"
    FAILED = "failed", "Reproduction failed"


class ReproductionCheckQuerySet(models.QuerySet["ReproductionCheck"]):
    def shown(self) -> ReproductionCheckQuerySet:
        """Checks with the name of who asked for them, newest first."""
        return self.select_related("created_by").only(*_columns(ReproductionCheck), "created_by__username")


class ReproductionCheck(models.Model):
    record = models.ForeignKey(VersionRecord, on_delete=models.PROTECT, related_name="checks")
    run = models.OneToOneField(Run, null=True, blank=True, on_delete=models.PROTECT, related_name="reproduction_check")
    verdict = models.CharField(max_length=20, choices=Verdict.choices, default=Verdict.PENDING)
    scores = models.JSONField(default=dict, blank=True)
    drift_accepted = models.BooleanField(default=False)
    drift_warnings = models.JSONField(default=list, blank=True)
    # Made with the verdict (runs_app.verification); checks settled before they were kept have
    # none until `manage.py make_difference_images`.
    differences = models.JSONField(
        default=dict,
        blank=True,
        help_text="output → {image: sha256 of its difference image, identical, changed, largest}",
    )
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = ReproductionCheckQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(verdict__in=Verdict.values), name="check_verdict_valid")]
        triggers: ClassVar[list[Any]] = [pgtrigger.Protect(name="check_no_delete", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"check of {self.record_id}: {self.verdict}"

    # Predicates for the pages: templates ask these instead of comparing verdict strings.
    @property
    def is_pending(self) -> bool:
        return self.verdict == Verdict.PENDING

    @property
    def compared_outputs(self) -> bool:
        """Its reproduction finished and each output was compared with the stored one."""
        return self.verdict in (Verdict.EXACT, Verdict.NEAR, Verdict.DIFFERENT)

    @property
    def lacks_difference_images(self) -> bool:
        """Compared before difference images were kept with the verdict."""
        return self.compared_outputs and not self.differences

    @property
    def scores_shown(self) -> list[str]:
        """Each output's scores in a few words, for lists of checks (the check page has them all)."""
        shown = []
        for name, score in self.scores.items():
            if not isinstance(score, dict):  # a check settled before issue 14: the older similarity score
                shown.append(f"{name} {score}")
            elif score.get("missing"):
                shown.append(f"{name} missing")
            elif score.get("identical"):
                shown.append(f"{name} identical pixels")
            else:
                shown.append(f"{name} SSIM {score['ssim']:.3f}, pHash {score['phash_distance']}")
        return shown

    @property
    def difference_urls(self) -> dict[str, str]:
        """Each compared output → the URL of its difference image."""
        return {name: f"/artifacts/{d['image']}" for name, d in self.differences.items()}


class ProductionPin(models.Model):
    """The seeds and snapshots a production-mode workflow runs with, captured from an approved record."""

    workflow = models.OneToOneField(Workflow, primary_key=True, on_delete=models.PROTECT, related_name="production_pin")
    record = models.ForeignKey(VersionRecord, on_delete=models.PROTECT, related_name="+")
    seeds = models.JSONField()
    step_models = models.JSONField(help_text="step → family@snapshot")
    pinned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    pinned_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"pin of {self.workflow_id} from {self.record_id}"


def with_pin(workflows: WorkflowQuerySet) -> WorkflowQuerySet:
    """Workflows with their production pin and who pinned it, in the same query (`workflow.production_pin`)."""
    return workflows.select_related("production_pin__pinned_by")


# --- evidence: evaluations and contact sheets (DESIGN §14) -------------------------------------


class EvidenceStatus(models.TextChoices):
    # The labels are what the pages show; the values are what the API answers.
    RUNNING = "running", "Rendering"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class EvaluationQuerySet(models.QuerySet["Evaluation"]):
    def visible_to(self, user: Any) -> EvaluationQuerySet:
        return self if role_of(user) >= Role.OPERATOR else self.none()

    def with_detail(self) -> EvaluationQuerySet:
        """An evaluation with its versions, workflow and both runs with their steps and outputs."""
        return self.select_related(
            "workflow", "candidate", "baseline", "created_by", "source_record", "candidate_run", "baseline_run"
        ).prefetch_related(
            models.Prefetch(
                "candidate_run__steps", queryset=RunStep.objects.select_related("output").order_by("index")
            ),
            models.Prefetch("baseline_run__steps", queryset=RunStep.objects.select_related("output").order_by("index")),
        )


class Evaluation(models.Model):
    """Evidence before the canonical pointer moves: a candidate version and the canonical version of the
    day (the baseline) run on the same inputs and seeds, their outputs compared, their definitions diffed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="evaluations")
    candidate = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="evaluations")
    baseline = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="+")
    candidate_run = models.OneToOneField(Run, on_delete=models.PROTECT, related_name="evaluation_as_candidate")
    baseline_run = models.OneToOneField(Run, on_delete=models.PROTECT, related_name="evaluation_as_baseline")
    source_record = models.ForeignKey(
        VersionRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="Inputs and seeds."
    )
    inputs = models.JSONField(default=dict)
    seeds = models.JSONField(default=dict, help_text="step → the seed both runs used")
    status = models.CharField(max_length=10, choices=EvidenceStatus.choices, default=EvidenceStatus.RUNNING)
    outputs = models.JSONField(
        default=dict,
        blank=True,
        help_text="output → {candidate, baseline: sha256, score, difference: {image, identical, changed, largest}}",
    )
    definition_diff = models.JSONField(default=list, help_text="[{op, path, from, to}] baseline → candidate")
    bump = models.CharField(max_length=10, choices=Bump.choices)
    bump_reasons = models.JSONField(default=list)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = EvaluationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=EvidenceStatus.values), name="evaluation_status_valid"),
            models.CheckConstraint(condition=~Q(candidate=models.F("baseline")), name="evaluation_two_versions"),
            models.CheckConstraint(condition=~Q(candidate_run=models.F("baseline_run")), name="evaluation_two_runs"),
        ]
        indexes = [models.Index(fields=["candidate", "baseline", "status"], name="evaluation_evidence")]
        triggers: ClassVar[list[Any]] = [
            pgtrigger.Protect(name="evaluation_no_delete", operation=pgtrigger.Delete),
            pgtrigger.ReadOnly(
                name="evaluation_frozen",
                fields=["workflow", "candidate", "baseline", "candidate_run", "baseline_run", "inputs", "seeds"],
            ),
        ]

    def __str__(self) -> str:
        return f"evaluation of {self.candidate_id} against {self.baseline_id}"

    @property
    def url(self) -> str:
        return f"/evaluations/{self.pk}/"

    # Predicates for the pages and templates_app's promotion gate (templates_app.evidence.Evidence).
    @property
    def is_running(self) -> bool:
        return self.status == EvidenceStatus.RUNNING

    @property
    def is_done(self) -> bool:
        return self.status == EvidenceStatus.DONE

    @property
    def is_failed(self) -> bool:
        return self.status == EvidenceStatus.FAILED

    def runs(self) -> list[Run]:
        return [self.baseline_run, self.candidate_run]


class ContactSheetQuerySet(models.QuerySet["ContactSheet"]):
    def visible_to(self, user: Any) -> ContactSheetQuerySet:
        return self if role_of(user) >= Role.OPERATOR else self.none()

    def with_detail(self) -> ContactSheetQuerySet:
        """A sheet with its base, image and cells, each with its workflow, version and run's steps."""
        return self.select_related("base", "image", "created_by").prefetch_related(
            models.Prefetch(
                "cells",
                queryset=ContactSheetCell.objects.select_related("workflow", "version", "run").order_by("position"),
            ),
            models.Prefetch("cells__run__steps", queryset=RunStep.objects.select_related("output").order_by("index")),
        )


class ContactSheet(models.Model):
    """A base workflow and each of its directions (canonical versions) rendered on the same inputs and
    seed, shown as one grid and kept, with its runs and its composed PNG."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    base = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="contact_sheets")
    inputs = models.JSONField(default=dict)
    seed = models.BigIntegerField(help_text="Every seeded step of every cell ran with it.")
    include_archived = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=EvidenceStatus.choices, default=EvidenceStatus.RUNNING)
    image = models.ForeignKey(Artifact, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = ContactSheetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=EvidenceStatus.values), name="sheet_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=EvidenceStatus.DONE) | Q(image__isnull=False), name="sheet_done_has_image"
            ),
        ]
        triggers: ClassVar[list[Any]] = [
            pgtrigger.Protect(name="sheet_no_delete", operation=pgtrigger.Delete),
            pgtrigger.ReadOnly(name="sheet_frozen", fields=["base", "inputs", "seed", "include_archived"]),
        ]

    def __str__(self) -> str:
        return f"contact sheet of {self.base_id}"

    @property
    def url(self) -> str:
        return f"/contact-sheets/{self.pk}/"

    @property
    def image_url(self) -> str:
        return f"/contact-sheets/{self.pk}/image.png"

    @property
    def is_running(self) -> bool:
        return self.status == EvidenceStatus.RUNNING

    @property
    def is_done(self) -> bool:
        return self.status == EvidenceStatus.DONE

    @property
    def is_failed(self) -> bool:
        return self.status == EvidenceStatus.FAILED


class ContactSheetCell(models.Model):
    """One workflow of a sheet: its canonical version when the sheet was made, its run, and its label
    and lifecycle as they were then (what the PNG shows)."""

    sheet = models.ForeignKey(ContactSheet, on_delete=models.PROTECT, related_name="cells")
    position = models.PositiveSmallIntegerField()
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="+")
    run = models.OneToOneField(Run, on_delete=models.PROTECT, related_name="contact_sheet_cell")
    label = models.CharField(max_length=200)
    lifecycle = models.CharField(max_length=12, choices=Lifecycle.choices)

    class Meta:
        ordering = ["sheet", "position"]
        constraints = [models.UniqueConstraint(fields=["sheet", "position"], name="unique_sheet_cell_position")]
        triggers: ClassVar[list[Any]] = [
            pgtrigger.Protect(name="sheet_cell_append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.label} in {self.sheet_id}"

    @property
    def is_base(self) -> bool:
        return self.position == 0

    def output(self) -> Artifact | None:
        """The cell's first named output once its run made it (reads the prefetched steps)."""
        return next(iter(self.run.outputs_by_name().values()), None)
