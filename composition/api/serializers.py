"""The workflow as the API answers it: its templates side (pointers, lineage, lifecycle)
with its runs side (mode, production pin and its drift)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.serializers import username_or_none
from templates_app.models import Mode, Workflow


class WorkflowSerializer(serializers.ModelSerializer[Workflow]):
    canonical_version = serializers.SerializerMethodField()
    derived_from = serializers.SerializerMethodField()
    spawned_from: serializers.SlugRelatedField[Workflow] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    production_pin = serializers.SerializerMethodField()
    drift_warnings = serializers.SerializerMethodField()
    approved_by = serializers.SerializerMethodField()

    class Meta:
        model = Workflow
        fields = [
            "slug",
            "name",
            "description",
            "lifecycle",
            "mode",
            "canonical_version",
            "derived_from",
            "direction_label",
            "spawned_from",
            "production_pin",
            "drift_warnings",
            "approved_by",
            "approved_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_canonical_version(self, obj: Workflow) -> str | None:
        return obj.canonical_version.version if obj.canonical_version else None

    def get_derived_from(self, obj: Workflow) -> dict[str, str] | None:
        if obj.derived_from is None or obj.derived_from_version is None:
            return None
        return {"slug": obj.derived_from.slug, "version": obj.derived_from_version.version}

    def get_production_pin(self, obj: Workflow) -> dict[str, Any] | None:
        pin = getattr(obj, "production_pin", None)
        if pin is None:
            return None
        return {
            "record_id": str(pin.record_id),
            "seeds": pin.seeds,
            "models": pin.step_models,
            "pinned_by": username_or_none(pin.pinned_by),
            "pinned_at": pin.pinned_at,
        }

    def get_drift_warnings(self, obj: Workflow) -> list[dict[str, str]]:
        """Computed for one workflow at a time (answers about one workflow); lists leave it empty."""
        return self.context.get("drift_warnings", [])

    def get_approved_by(self, obj: Workflow) -> str | None:
        return username_or_none(obj.approved_by)


class WorkflowUpdateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    mode = serializers.ChoiceField(choices=Mode.choices, required=False)
    pin_record = serializers.CharField(required=False)


class ArchivedSiblingSerializer(serializers.Serializer[Any]):
    """A sibling that approving a direction archives, with what it holds (runs_app.approval.ArchivedSibling)."""

    slug = serializers.SlugField()
    direction_label = serializers.CharField()
    lifecycle = serializers.CharField()
    mode = serializers.CharField()
    canonical_version = serializers.CharField(allow_null=True)
    production_pin = serializers.CharField(allow_null=True, help_text="label of the record its production pin is from")
    approved_records = serializers.IntegerField()


class ApprovePreviewSerializer(serializers.Serializer[Any]):
    workflow = serializers.SlugField()
    will_archive = ArchivedSiblingSerializer(many=True)


class ApproveResultSerializer(serializers.Serializer[Any]):
    workflow = WorkflowSerializer()
    archived = serializers.ListField(child=serializers.SlugField())
    impact = ArchivedSiblingSerializer(many=True)


class PinnedVersionSerializer(serializers.Serializer[Any]):
    workflow = serializers.CharField()
    version = serializers.CharField()
    is_canonical = serializers.BooleanField()


class SnapshotImpactSerializer(serializers.Serializer[Any]):
    """What retiring a snapshot, or moving its family's default away from it, touches (runs_app.impact)."""

    family = serializers.CharField()
    snapshot = serializers.CharField()
    is_default = serializers.BooleanField()
    status = serializers.CharField()
    floating_workflows = serializers.ListField(
        child=serializers.CharField(), help_text="Workflows whose canonical version floats on the family (default)."
    )
    pinned_workflows = serializers.ListField(child=serializers.CharField())
    pinned_versions = PinnedVersionSerializer(many=True)
    production_pins = serializers.ListField(child=serializers.CharField())
    records = serializers.IntegerField()
    approved_records = serializers.IntegerField()
    runs_in_flight = serializers.IntegerField()


class CatalogueChangeSerializer(serializers.Serializer[Any]):
    """A snapshot after a catalogue change, with what the change touched."""

    family = serializers.CharField()
    snapshot = serializers.CharField()
    tier = serializers.CharField()
    provider = serializers.CharField()
    status = serializers.CharField()
    is_default = serializers.BooleanField()
    previous_default = serializers.CharField(allow_null=True, required=False)
    impact = SnapshotImpactSerializer(allow_null=True)
