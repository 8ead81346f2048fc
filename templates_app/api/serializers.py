"""Input and output shapes of the templates API (API.md). Serializers validate
and shape data only; every state change goes through templates_app.services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.roles import Role, role_of
from core.serializers import username_or_none
from templates_app.catalogue import ProviderFacts, provider_facts, queue_for
from templates_app.models import (
    VERSION_MESSAGE_MAX,
    Bump,
    Channel,
    Draft,
    ModelSnapshot,
    PointerMove,
    Visibility,
    Workflow,
    WorkflowVersion,
)


class ModelSnapshotSerializer(serializers.ModelSerializer[ModelSnapshot]):
    family = serializers.CharField(source="family.name")
    tier = serializers.CharField(source="family.tier")
    provider = serializers.CharField(source="family.provider")
    is_default = serializers.SerializerMethodField()
    seeded = serializers.SerializerMethodField(help_text="Whether the same seed gives the same output.")
    queue = serializers.SerializerMethodField(help_text="The queue its steps are sent to.")
    available = serializers.SerializerMethodField(
        help_text="Whether runs can use it on this server now (a hosted provider needs its key)."
    )
    unavailable_reason = serializers.SerializerMethodField()

    class Meta:
        model = ModelSnapshot
        fields = [
            "family",
            "snapshot",
            "tier",
            "provider",
            "status",
            "is_default",
            "seeded",
            "queue",
            "available",
            "unavailable_reason",
            "fingerprint",
        ]

    def get_is_default(self, obj: ModelSnapshot) -> bool:
        return obj.family.default_snapshot_id == obj.pk

    def _facts(self, obj: ModelSnapshot) -> ProviderFacts:
        # Once per provider and answer: a list of snapshots shares a handful of providers.
        context = self.context
        cache: dict[str, ProviderFacts] = context.setdefault("provider_facts", {}) if isinstance(context, dict) else {}
        if obj.family.provider not in cache:
            cache[obj.family.provider] = provider_facts(obj.family.provider)
        return cache[obj.family.provider]

    def get_seeded(self, obj: ModelSnapshot) -> bool:
        return self._facts(obj).seeded

    def get_queue(self, obj: ModelSnapshot) -> str:
        return queue_for(obj.family.provider, obj.family.name)

    def get_available(self, obj: ModelSnapshot) -> bool:
        return not self._facts(obj).unavailable

    def get_unavailable_reason(self, obj: ModelSnapshot) -> str:
        return self._facts(obj).unavailable


class ModelSnapshotCreateSerializer(serializers.Serializer[Any]):
    family = serializers.CharField(max_length=100)
    snapshot = serializers.CharField(max_length=100)
    tier = serializers.CharField(max_length=40, required=False)
    provider = serializers.CharField(max_length=40, required=False)
    make_default = serializers.BooleanField(default=False)


class WorkflowCreateSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField(max_length=100)  # the schema documents the slug pattern
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class DeriveSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField(max_length=100)  # the schema documents the slug pattern
    name = serializers.CharField(max_length=200)
    direction_label = serializers.CharField(max_length=100)
    version = serializers.CharField(required=False)


class DraftSerializer(serializers.ModelSerializer[Draft]):
    workflow: serializers.SlugRelatedField[Workflow] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    based_on = serializers.SerializerMethodField()
    author = serializers.SerializerMethodField()
    published_version = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = Draft
        fields = [
            "id",
            "workflow",
            "definition",
            "based_on",
            "author",
            "status",
            "published_version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_based_on(self, obj: Draft) -> dict[str, str] | None:
        v = obj.based_on
        return {"slug": v.workflow.slug, "version": v.version} if v else None

    def get_author(self, obj: Draft) -> str | None:
        return username_or_none(obj.author)

    def get_published_version(self, obj: Draft) -> str | None:
        return obj.published_version.version if obj.published_version else None

    def get_status(self, obj: Draft) -> str:
        if obj.published_version_id:
            return "published"
        return "discarded" if obj.discarded_at else "open"


class DraftWriteSerializer(serializers.Serializer[Any]):
    definition = serializers.JSONField()
    based_on = serializers.CharField(required=False, help_text="A version string of this workflow.")


class ComfyImportUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="A PNG that ComfyUI saved, or an API-format JSON export.")


class DraftUpdateSerializer(serializers.Serializer[Any]):
    definition = serializers.JSONField()


class ProblemSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    path = serializers.CharField()
    message = serializers.CharField()


class ValidationResultSerializer(serializers.Serializer[Any]):
    valid = serializers.BooleanField()
    errors = ProblemSerializer(many=True)  # type: ignore[assignment]  # the API field is named "errors"
    bump = serializers.CharField(allow_null=True)
    bump_reasons = serializers.ListField(child=serializers.CharField())
    manifest_hash = serializers.CharField(allow_null=True)
    warnings = ProblemSerializer(
        many=True, help_text="Worth knowing, never a refusal: e.g. an unseeded model, a pool not answering."
    )


class PublishSerializer(serializers.Serializer[Any]):
    visibility = serializers.ChoiceField(choices=Visibility.choices)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.STANDARD)
    bump = serializers.ChoiceField(choices=[Bump.PATCH, Bump.MINOR, Bump.MAJOR], required=False)
    message = serializers.CharField(
        max_length=VERSION_MESSAGE_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why this version is published, in one line; kept with the version and never edited.",
    )


class SpawnSiblingSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField(max_length=100)  # the schema documents the slug pattern
    name = serializers.CharField(max_length=200)


class VersionSerializer(serializers.ModelSerializer[WorkflowVersion]):
    workflow: serializers.SlugRelatedField[Workflow] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    is_canonical = serializers.SerializerMethodField()
    published_by = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowVersion
        fields = [
            "workflow",
            "version",
            "manifest_hash",
            "definition",
            "visibility",
            "channel",
            "bump",
            "message",
            "is_canonical",
            "published_by",
            "published_at",
        ]
        read_only_fields = fields

    def get_is_canonical(self, obj: WorkflowVersion) -> bool:
        return obj.workflow.canonical_version_id == obj.pk

    def get_published_by(self, obj: WorkflowVersion) -> str:
        return obj.published_by.get_username()

    def to_representation(self, instance: WorkflowVersion) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if role_of(getattr(request, "user", None)) < Role.OPERATOR:
            data.pop("published_by", None)  # who published is for the team, not the public
        return data


class VisibilitySerializer(serializers.Serializer[Any]):
    visibility = serializers.ChoiceField(choices=Visibility.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ChannelSerializer(serializers.Serializer[Any]):
    channel = serializers.ChoiceField(choices=Channel.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class PointerMoveSerializer(serializers.ModelSerializer[PointerMove]):
    version = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField()
    to = serializers.CharField(source="to_value")

    class Meta:
        model = PointerMove
        # evidence: the evaluation a canonical move was made with; evidence_waived: an admin's override.
        fields = [
            "id",
            "pointer",
            "version",
            "from_value",
            "to",
            "reason",
            "actor",
            "at",
            "evidence",
            "evidence_waived",
        ]
        read_only_fields = fields

    def get_version(self, obj: PointerMove) -> str | None:
        return obj.version.version if obj.version else None

    def get_actor(self, obj: PointerMove) -> str | None:
        return username_or_none(obj.actor)


class TreeNodeSerializer(serializers.Serializer[Any]):
    slug = serializers.CharField()
    name = serializers.CharField()
    direction_label = serializers.CharField()
    lifecycle = serializers.CharField()
    derived_from_version = serializers.CharField(allow_null=True)
    canonical_version = serializers.CharField(allow_null=True)
    children = serializers.ListField(child=serializers.DictField())


class VersionChangeSerializer(serializers.Serializer[Any]):
    op = serializers.ChoiceField(choices=["add", "remove", "replace"])
    path = serializers.CharField(help_text="A JSON Pointer into the definition.")
    # Declared as dicts for the schema; the values are any JSON.
    from_ = serializers.JSONField(allow_null=True)
    to = serializers.JSONField(allow_null=True)

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class VersionDiffSerializer(serializers.Serializer[Any]):
    from_ = serializers.CharField()
    to = serializers.CharField()
    bump = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    changes = VersionChangeSerializer(many=True)

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields
