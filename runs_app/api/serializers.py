"""Shapes of runs, steps, version records, checks and artifacts (API.md)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from runs_app.models import Artifact, ReproductionCheck, Run, RunGate, RunStep, VersionRecord
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
        ]
        read_only_fields = fields

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
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

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


@extend_schema_serializer(component_name="Record")  # not its list parent's RecordSummary
class RecordSerializer(RecordListSerializer):
    run_id = serializers.UUIDField(read_only=True)
    drift_warnings = serializers.SerializerMethodField()
    checks = CheckSerializer(source="checks_shown", many=True, read_only=True)
    imported_from = serializers.SerializerMethodField(
        help_text="For a record imported from a bundle: where it was made and what it was there; else null."
    )

    class Meta(RecordListSerializer.Meta):
        fields = [*RecordListSerializer.Meta.fields, "gates", "run_id", "drift_warnings", "checks", "imported_from"]
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


class ReproduceSerializer(serializers.Serializer[Any]):
    accept_model_drift = serializers.BooleanField(default=False)
