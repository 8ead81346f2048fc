"""Shapes of runs, steps, version records, checks and artifacts (API.md)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from runs_app.models import (
    Artifact,
    ContactSheet,
    ContactSheetCell,
    Evaluation,
    ReproductionCheck,
    Run,
    RunGate,
    RunStep,
    VersionRecord,
)
from templates_app.models import Mode


def _artifact(a: Artifact | None) -> dict[str, Any] | None:
    return {"sha256": a.sha256, "url": a.url, "media_type": a.media_type} if a else None


class ArtifactSerializer(serializers.ModelSerializer[Artifact]):
    url = serializers.CharField(read_only=True)

    class Meta:
        model = Artifact
        fields = ["sha256", "url", "media_type", "width", "height", "size", "frames"]
        read_only_fields = fields


class ArtifactUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField()


class BundleUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="A record bundle (.zip) from GET /api/records/<id>/bundle/.")


class RunStepSerializer(serializers.ModelSerializer[RunStep]):
    id = serializers.CharField(source="step_id")
    outputs = serializers.SerializerMethodField()

    class Meta:
        model = RunStep
        fields = [
            "id",
            "kind",
            "status",
            "model",
            "seed",
            "params",
            "outputs",
            "error",
            "error_code",
            "attempts",
            "progress",
            "progress_message",
            "queue",
            "started_at",
            "finished_at",
            "duration_ms",
            "fingerprint",
            "submitted",
            "reused",
        ]
        read_only_fields = fields

    reused = serializers.BooleanField(
        source="is_reused", read_only=True, help_text="A retried run's step whose output was reused, not generated."
    )

    def get_outputs(self, obj: RunStep) -> list[dict[str, Any]]:
        return [_artifact(obj.output)] if obj.output else []  # type: ignore[list-item]


class GateSerializer(serializers.ModelSerializer[RunGate]):
    continued_by = serializers.CharField(source="continued_by.username", read_only=True, allow_null=True)

    class Meta:
        model = RunGate
        fields = ["after", "reached_at", "continued_by", "continued_at"]
        read_only_fields = fields


class RunSerializer(serializers.ModelSerializer[Run]):
    workflow = serializers.SlugRelatedField(slug_field="slug", read_only=True)  # type: ignore[var-annotated]
    version = serializers.CharField(source="version.version", read_only=True)
    steps = RunStepSerializer(many=True, read_only=True)
    progress = serializers.FloatField(read_only=True)
    outputs = serializers.SerializerMethodField()
    record_id = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    reproduces = serializers.UUIDField(source="reproduces_id", read_only=True, allow_null=True)
    gate = serializers.SerializerMethodField(help_text="Where a run in awaiting_gate paused: {after}; else null.")
    gates = GateSerializer(source="gates_reached", many=True, read_only=True)

    class Meta:
        model = Run
        fields = [
            "id",
            "workflow",
            "version",
            "mode",
            "status",
            "progress",
            "spec_hash",
            "specification",
            "inputs",
            "steps",
            "outputs",
            "record_id",
            "drift_warnings",
            "error",
            "error_code",
            "gate",
            "gates",
            "label",
            "annotation",
            "saved_without_annotation",
            "reproduces",
            "batch",
            "swept",
            "retry_of",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    batch = serializers.UUIDField(source="batch_id", read_only=True, allow_null=True)
    retry_of = serializers.UUIDField(source="retry_of_id", read_only=True, allow_null=True)

    def get_outputs(self, obj: Run) -> dict[str, Any]:
        return {name: _artifact(artifact) for name, artifact in obj.outputs_by_name().items()}

    @extend_schema_field({"type": "object", "nullable": True, "properties": {"after": {"type": "string"}}})
    def get_gate(self, obj: Run) -> dict[str, str] | None:
        return {"after": obj.gate_after} if obj.awaits_gate else None

    def get_record_id(self, obj: Run) -> str | None:
        record = getattr(obj, "record", None) if hasattr(obj, "record") else None
        return str(record.pk) if record else None


@extend_schema_serializer(component_name="RunSummary")  # list answers: a run without its steps
class RunListSerializer(RunSerializer):
    """A run in a list (issue 11): no step list and no specification — those are the detail's
    (GET /api/runs/<id>/), so a page of runs stays small whatever the runs expand to."""

    class Meta(RunSerializer.Meta):
        fields = [f for f in RunSerializer.Meta.fields if f not in ("specification", "steps", "gates")]
        read_only_fields = fields

    def get_outputs(self, obj: Run) -> dict[str, Any]:
        by_id = {s.step_id: s for s in obj.steps.all()}
        named = getattr(obj, "output_steps", None) or {}  # specification.outputs, read alone by the list query
        return {name: _artifact(by_id[sid].output) for name, sid in named.items() if sid in by_id and by_id[sid].output}


class RunStartSerializer(serializers.Serializer[Any]):
    workflow = serializers.SlugField()
    version = serializers.CharField(required=False)
    inputs = serializers.JSONField(default=dict)
    mode = serializers.ChoiceField(choices=Mode.choices, required=False)
    accept_model_drift = serializers.BooleanField(
        default=False, help_text="Run in production even though the pinned environment changed (409 model_drift)."
    )


class CaptureSerializer(serializers.Serializer[Any]):
    """Nothing to send: the snapshot is dated today and holds what the pool's server reports."""


class FinalizeSerializer(serializers.Serializer[Any]):
    # No max_length: services.finalize_run checks both lengths, for the API and the page alike.
    label = serializers.CharField(allow_blank=True, default="")  # type: ignore[assignment]  # API field "label"
    annotation = serializers.CharField(allow_blank=True, default="")
    confirm_no_annotation = serializers.BooleanField(default=False)


class CheckSerializer(serializers.ModelSerializer[ReproductionCheck]):
    run_id = serializers.UUIDField(read_only=True, allow_null=True)  # null for a check flagged by hand
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    # Additive: each compared output → its difference image (black where the pixels are equal),
    # made with the verdict; empty while pending, and for checks settled before these were kept.
    difference_images = serializers.DictField(child=serializers.CharField(), source="difference_urls", read_only=True)

    class Meta:
        model = ReproductionCheck
        fields = [
            "id",
            "run_id",
            "verdict",
            "scores",
            "drift_accepted",
            "drift_warnings",
            "note",
            "created_by",
            "created_at",
            "completed_at",
            "difference_images",
        ]
        read_only_fields = fields


@extend_schema_serializer(component_name="RecordSummary")
class RecordListSerializer(serializers.ModelSerializer[VersionRecord]):
    workflow = serializers.SlugRelatedField(slug_field="slug", read_only=True)  # type: ignore[var-annotated]
    version = serializers.CharField(source="version.version", read_only=True)
    models = serializers.JSONField(source="step_models", read_only=True)
    annotated_by = serializers.CharField(source="annotated_by.username", read_only=True)
    approved_by = serializers.SerializerMethodField()

    class Meta:
        model = VersionRecord
        fields = [
            "id",
            "number",
            "label",
            "workflow",
            "version",
            "manifest_hash",
            "spec_hash",
            "mode",
            "created_at",
            "run_at",
            "inputs",
            "parameters",
            "seeds",
            "models",
            "reference_images",
            "outputs",
            "annotation",
            "saved_without_annotation",
            "annotated_by",
            "approved_by",
            "approved_at",
            "legacy_required",
        ]
        read_only_fields = fields

    def get_approved_by(self, obj: VersionRecord) -> str | None:
        return obj.approved_by.username if obj.approved_by else None


SIGNED_COPY = {
    "type": "object",
    "properties": {"sha256": {"type": "string"}, "url": {"type": "string"}},
    "required": ["sha256", "url"],
}


@extend_schema_serializer(component_name="Record")  # not its list parent's RecordSummary
class RecordSerializer(RecordListSerializer):
    run_id = serializers.UUIDField(read_only=True)
    drift_warnings = serializers.SerializerMethodField()
    checks = CheckSerializer(source="checks_shown", many=True, read_only=True)
    signed_outputs = serializers.SerializerMethodField()
    imported_from = serializers.SerializerMethodField(
        help_text="For a record imported from a bundle: where it was made and what it was there; else null."
    )

    class Meta(RecordListSerializer.Meta):
        fields = [
            *RecordListSerializer.Meta.fields,
            "gates",
            "run_id",
            "drift_warnings",
            "checks",
            "signed_outputs",
            "imported_from",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "instance": {"type": "string"},
                "record_id": {"type": "string", "format": "uuid"},
                "number": {"type": "integer", "nullable": True},
                "label": {"type": "string"},
                "annotated_by": {"type": "string"},
                "approved_by": {"type": "string", "nullable": True},
                "approved_at": {"type": "string", "nullable": True},
                "imported_by": {"type": "string"},
                "imported_at": {"type": "string", "format": "date-time"},
            },
        }
    )
    def get_imported_from(self, obj: VersionRecord) -> dict[str, Any] | None:
        if not obj.is_imported:
            return None
        origin = obj.origin or {}
        return {
            "instance": obj.origin_instance,
            "record_id": str(obj.origin_record_id),
            "number": origin.get("number"),
            "label": origin.get("label", ""),
            "annotated_by": origin.get("annotated_by", ""),
            "approved_by": origin.get("approved_by"),
            "approved_at": origin.get("approved_at"),
            "imported_by": obj.imported_by.get_username() if obj.imported_by else "",
            "imported_at": obj.imported_at.isoformat() if obj.imported_at else None,
        }

    def get_drift_warnings(self, obj: VersionRecord) -> list[dict[str, str]]:
        return self.context.get("drift_warnings", [])

    @extend_schema_field({"type": "object", "additionalProperties": SIGNED_COPY})
    def get_signed_outputs(self, obj: VersionRecord) -> dict[str, dict[str, str]]:
        """Each output's C2PA-signed copy; an output missing here is still being signed."""
        return obj.signed_outputs


class VerifyUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField()


VERIFIED_RECORD = {
    "type": "object",
    "nullable": True,
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "label": {"type": "string"},
        "workflow": {"type": "string"},
        "version": {"type": "string"},
    },
    "required": ["id", "label", "workflow", "version"],
}


class VerificationSerializer(serializers.Serializer[Any]):
    """What a file's C2PA manifest says (DESIGN §13)."""

    state = serializers.ChoiceField(choices=["trusted", "valid", "invalid", "none"])
    signer = serializers.CharField(allow_null=True)
    record = serializers.SerializerMethodField()
    manifest_hash = serializers.CharField(allow_null=True)
    spec_hash = serializers.CharField(allow_null=True)

    @extend_schema_field(VERIFIED_RECORD)
    def get_record(self, obj: Any) -> dict[str, str] | None:
        """The record the file came from, for a caller who may see it (else null)."""
        record = obj.record
        if record is None:
            return None
        return {
            "id": str(record.pk),
            "label": record.label,
            "workflow": record.workflow.slug,
            "version": record.version.version,
        }


class ReproduceSerializer(serializers.Serializer[Any]):
    accept_model_drift = serializers.BooleanField(default=False)


# --- batches (DESIGN §15) --------------------------------------------------------------------


class BatchStartSerializer(serializers.Serializer[Any]):
    workflow = serializers.CharField(help_text="The workflow's slug.")
    version = serializers.CharField(required=False, allow_blank=True, help_text="Canonical when left out.")
    inputs = serializers.JSONField(default=dict)
    count = serializers.JSONField(
        required=False, help_text="Runs with fresh seeds (1..64); with a sweep, seed sets per combination."
    )
    sweep = serializers.JSONField(
        required=False, help_text='{"<step>.<param>": [values]} over one or two parameters; the product ≤ 64.'
    )


class BatchRunSerializer(serializers.ModelSerializer[Run]):
    seeds = serializers.SerializerMethodField()
    progress = serializers.FloatField(read_only=True)
    record_id = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = ["id", "status", "seeds", "swept", "progress", "record_id"]
        read_only_fields = fields

    def get_seeds(self, obj: Run) -> dict[str, int]:
        return {s.step_id: s.seed for s in obj.steps.all() if s.seed is not None}

    def get_record_id(self, obj: Run) -> str | None:
        record = getattr(obj, "record", None) if hasattr(obj, "record") else None
        return str(record.pk) if record else None


class BatchSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    workflow = serializers.CharField(source="workflow.slug", read_only=True)
    version = serializers.CharField(source="version.version", read_only=True)
    inputs = serializers.JSONField(read_only=True)
    count = serializers.IntegerField(read_only=True)
    sweep = serializers.JSONField(read_only=True)
    runs = BatchRunSerializer(many=True, read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


@extend_schema_serializer(component_name="BatchSummary")
class BatchListSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    workflow = serializers.CharField(source="workflow.slug", read_only=True)
    version = serializers.CharField(source="version.version", read_only=True)
    count = serializers.IntegerField(read_only=True)
    sweep = serializers.JSONField(read_only=True)
    run_count = serializers.IntegerField(read_only=True)
    live_count = serializers.IntegerField(read_only=True)
    finalized_count = serializers.IntegerField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


# --- evidence (DESIGN §14) ---------------------------------------------------------------------


class PromoteSerializer(serializers.Serializer[Any]):
    evidence = serializers.UUIDField(required=False, allow_null=True, default=None, help_text="An evaluation's id.")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class EvaluateSerializer(serializers.Serializer[Any]):
    record = serializers.UUIDField(required=False, allow_null=True, default=None)
    inputs = serializers.JSONField(required=False, allow_null=True, default=None)


def _sha_url(sha: str | None) -> dict[str, str] | None:
    return {"sha256": sha, "url": f"/artifacts/{sha}"} if sha else None


class EvaluationSerializer(serializers.ModelSerializer[Evaluation]):
    candidate = serializers.CharField(source="candidate.version", read_only=True)
    baseline = serializers.CharField(source="baseline.version", read_only=True)
    workflow = serializers.CharField(source="workflow.slug", read_only=True)
    record = serializers.UUIDField(source="source_record_id", read_only=True, allow_null=True)
    runs = serializers.SerializerMethodField()
    outputs = serializers.SerializerMethodField()
    url = serializers.CharField(read_only=True)

    class Meta:
        model = Evaluation
        fields = [
            "id",
            "workflow",
            "candidate",
            "baseline",
            "status",
            "record",
            "inputs",
            "seeds",
            "runs",
            "outputs",
            "definition_diff",
            "bump",
            "bump_reasons",
            "note",
            "url",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields

    def get_runs(self, obj: Evaluation) -> dict[str, str]:
        return {"candidate": str(obj.candidate_run_id), "baseline": str(obj.baseline_run_id)}

    @extend_schema_field(serializers.DictField())
    def get_outputs(self, obj: Evaluation) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        for name, o in obj.outputs.items():
            difference = o.get("difference") or {}
            answer[name] = {
                "candidate": _sha_url(o.get("candidate")),
                "baseline": _sha_url(o.get("baseline")),
                "difference_url": f"/artifacts/{difference['image']}" if difference.get("image") else None,
                "scores": {
                    "similarity": o.get("score"),
                    "identical": difference.get("identical"),
                    "changed": difference.get("changed"),
                    "largest": difference.get("largest"),
                },
            }
        return answer


class ContactSheetStartSerializer(serializers.Serializer[Any]):
    inputs = serializers.JSONField()
    seed = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0, max_value=2**32 - 1)
    include_archived = serializers.BooleanField(required=False, default=False)


class ContactSheetCellSerializer(serializers.ModelSerializer[ContactSheetCell]):
    workflow = serializers.CharField(source="workflow.slug", read_only=True)
    direction_label = serializers.CharField(source="workflow.direction_label", read_only=True)
    version = serializers.CharField(source="version.version", read_only=True)
    run = serializers.UUIDField(source="run_id", read_only=True)
    status = serializers.CharField(source="run.status", read_only=True)
    outputs = serializers.SerializerMethodField()

    class Meta:
        model = ContactSheetCell
        fields = [
            "position",
            "workflow",
            "direction_label",
            "label",
            "lifecycle",
            "version",
            "run",
            "status",
            "outputs",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField())
    def get_outputs(self, obj: ContactSheetCell) -> dict[str, Any]:
        return {name: _artifact(artifact) for name, artifact in obj.run.outputs_by_name().items()}


class ContactSheetSerializer(serializers.ModelSerializer[ContactSheet]):
    base = serializers.CharField(source="base.slug", read_only=True)
    cells = ContactSheetCellSerializer(many=True, read_only=True)
    image_url = serializers.SerializerMethodField()
    url = serializers.CharField(read_only=True)

    class Meta:
        model = ContactSheet
        fields = [
            "id",
            "base",
            "status",
            "seed",
            "inputs",
            "include_archived",
            "cells",
            "image_url",
            "note",
            "url",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields

    def get_image_url(self, obj: ContactSheet) -> str | None:
        return obj.image_url if obj.image_id else None
