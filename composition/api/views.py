"""REST endpoints that answer a whole workflow: its pointers and lineage (templates) with its
mode, production pin and drift (runs). State changes go through each app's services."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from composition.api import serializers as s
from core.errors import Problem, ValidationFailed
from core.roles import Role, require_role
from core.serializers import ReasonSerializer, validated
from runs_app import services as run_services
from runs_app.approval import approval_impact
from runs_app.drift import workflow_drift
from runs_app.impact import SnapshotImpact, snapshot_impact
from runs_app.models import VersionRecord, with_pin
from templates_app import services
from templates_app.api import serializers as template_serializers
from templates_app.api.views import visible_draft, visible_workflow
from templates_app.models import Lifecycle, ModelSnapshot, Workflow, WorkflowQuerySet


def _answered(workflows: WorkflowQuerySet) -> WorkflowQuerySet:
    """Workflows with everything their answer shows, in one query."""
    return with_pin(workflows.with_pointers().select_related("approved_by", "spawned_from"))


def workflow_response(workflow: Workflow, code: int = status.HTTP_200_OK) -> Response:
    fresh = _answered(Workflow.objects.all()).get(pk=workflow.pk)
    return Response(s.WorkflowSerializer(fresh, context={"drift_warnings": workflow_drift(fresh)}).data, status=code)


class WorkflowFilter(django_filters.FilterSet):
    lifecycle = django_filters.ChoiceFilter(choices=Lifecycle.choices)
    derived_from = django_filters.CharFilter(field_name="derived_from__slug")
    q = django_filters.CharFilter(method="search", label="Search slug, name, description and direction label")

    class Meta:
        model = Workflow
        fields = ["lifecycle", "derived_from", "q"]

    def search(self, queryset: WorkflowQuerySet, name: str, value: str) -> WorkflowQuerySet:
        return queryset.search(value)


class WorkflowListView(generics.ListCreateAPIView[Workflow]):
    serializer_class = s.WorkflowSerializer
    filterset_class = WorkflowFilter

    def get_queryset(self) -> QuerySet[Workflow]:
        return _answered(Workflow.objects.visible_to(self.request.user))

    @extend_schema(request=template_serializers.WorkflowCreateSerializer, responses={201: s.WorkflowSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        values = validated(template_serializers.WorkflowCreateSerializer, request)
        workflow = services.create_workflow(actor=request.user, **values)
        return workflow_response(workflow, status.HTTP_201_CREATED)


class WorkflowDetailView(APIView):
    @extend_schema(responses=s.WorkflowSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return workflow_response(visible_workflow(request, slug))

    @extend_schema(request=s.WorkflowUpdateSerializer, responses=s.WorkflowSerializer)
    @transaction.atomic  # name, description and mode change together or not at all
    def patch(self, request: Request, slug: str) -> Response:
        workflow = visible_workflow(request, slug)
        values = validated(s.WorkflowUpdateSerializer, request, partial=True)
        if "name" in values or "description" in values:
            services.update_workflow(
                actor=request.user, workflow=workflow, name=values.get("name"), description=values.get("description")
            )
        if "mode" in values or "pin_record" in values:
            pin = None
            if values.get("pin_record"):
                pin = VersionRecord.objects.filter(pk=values["pin_record"], workflow=workflow).first()
                if pin is None:
                    raise ValidationFailed(
                        [Problem("unknown_record", "pin_record", "No record of this workflow has that id.")]
                    )
            run_services.set_workflow_mode(
                actor=request.user, workflow=workflow, mode=values.get("mode", workflow.mode), pin_record=pin
            )
        return workflow_response(workflow)


class DeriveView(APIView):
    @extend_schema(request=template_serializers.DeriveSerializer, responses={201: s.WorkflowSerializer})
    def post(self, request: Request, slug: str) -> Response:
        base = visible_workflow(request, slug)
        values = validated(template_serializers.DeriveSerializer, request)
        version_string = values.pop("version", None)
        version = get_object_or_404(base.versions, version=version_string) if version_string else None
        workflow = services.derive_direction(actor=request.user, base=base, version=version, **values)
        return workflow_response(workflow, status.HTTP_201_CREATED)


class ApproveDirectionView(APIView):
    @extend_schema(responses=s.ApprovePreviewSerializer)
    def get(self, request: Request, slug: str) -> Response:
        """What approving would archive, before anyone does: each sibling with its pin and approved records."""
        workflow = visible_workflow(request, slug)
        return Response({"workflow": workflow.slug, "will_archive": [a.as_dict() for a in approval_impact(workflow)]})

    @extend_schema(request=ReasonSerializer, responses=s.ApproveResultSerializer)
    def post(self, request: Request, slug: str) -> Response:
        workflow = visible_workflow(request, slug)
        values = validated(ReasonSerializer, request)
        impact = approval_impact(workflow)  # the answer says what was archived, pins and approved records too
        archived = services.approve_direction(actor=request.user, workflow=workflow, reason=values["reason"])
        done = {w.slug for w in archived}
        return Response(
            {
                "workflow": workflow_response(workflow).data,
                "archived": [w.slug for w in archived],
                "impact": [a.as_dict() for a in impact if a.slug in done],
            }
        )


class ArchiveView(APIView):
    service = staticmethod(services.archive_workflow)

    @extend_schema(request=ReasonSerializer, responses=s.WorkflowSerializer)
    def post(self, request: Request, slug: str) -> Response:
        workflow = visible_workflow(request, slug)
        values = validated(ReasonSerializer, request)
        self.service(actor=request.user, workflow=workflow, reason=values["reason"])
        return workflow_response(workflow)


class ResurrectView(ArchiveView):
    service = staticmethod(services.resurrect_workflow)


class SpawnSiblingView(APIView):
    @extend_schema(request=template_serializers.SpawnSiblingSerializer, responses={201: s.WorkflowSerializer})
    def post(self, request: Request, pk: int) -> Response:
        draft = visible_draft(request, pk)
        values = validated(template_serializers.SpawnSiblingSerializer, request)
        workflow = services.spawn_sibling(actor=request.user, draft=draft, **values)
        return workflow_response(workflow, status.HTTP_201_CREATED)


# --- the model catalogue's changes, with their impact ------------------------------------------


def _snapshot(family: str, snapshot: str) -> ModelSnapshot:
    return get_object_or_404(
        ModelSnapshot.objects.select_related("family__default_snapshot"), family__name=family, snapshot=snapshot
    )


def _catalogue_change(
    snapshot: ModelSnapshot, impact: SnapshotImpact | None, previous_default: str | None = None
) -> Response:
    fresh = _snapshot(snapshot.family.name, snapshot.snapshot)
    return Response(
        {
            **template_serializers.ModelSnapshotSerializer(fresh).data,
            "previous_default": previous_default,
            "impact": impact.as_dict() if impact is not None else None,
        }
    )


class ModelImpactView(APIView):
    @extend_schema(responses=s.SnapshotImpactSerializer)
    def get(self, request: Request, family: str, snapshot: str) -> Response:
        """What retiring this snapshot, or moving the family's default away from it, touches."""
        require_role(request.user, Role.MANAGER, action="see what a model change touches")
        return Response(snapshot_impact(_snapshot(family, snapshot)).as_dict())


class ModelRetireView(APIView):
    @extend_schema(request=ReasonSerializer, responses=s.CatalogueChangeSerializer)
    def post(self, request: Request, family: str, snapshot: str) -> Response:
        """Retire a snapshot; the answer carries what it touched (its impact just before)."""
        snap = _snapshot(family, snapshot)
        values = validated(ReasonSerializer, request)
        require_role(request.user, Role.ADMIN, action="manage the model catalogue")
        with transaction.atomic():
            impact = snapshot_impact(snap)
            services.retire_model_snapshot(actor=request.user, snapshot=snap, reason=values["reason"])
        return _catalogue_change(snap, impact)


class ModelDefaultView(APIView):
    @extend_schema(request=ReasonSerializer, responses=s.CatalogueChangeSerializer)
    def post(self, request: Request, family: str, snapshot: str) -> Response:
        """Make a snapshot the family's default (also to move it back); the answer carries the
        impact of the snapshot the default moved away from (what floated on it)."""
        snap = _snapshot(family, snapshot)
        values = validated(ReasonSerializer, request)
        require_role(request.user, Role.ADMIN, action="manage the model catalogue")
        previous = snap.family.default_snapshot
        with transaction.atomic():
            impact = snapshot_impact(previous) if previous is not None and previous.pk != snap.pk else None
            services.set_default_snapshot(actor=request.user, snapshot=snap, reason=values["reason"])
        return _catalogue_change(snap, impact, previous.snapshot if previous is not None else None)


class ModelRestoreView(APIView):
    @extend_schema(request=ReasonSerializer, responses=s.CatalogueChangeSerializer)
    def post(self, request: Request, family: str, snapshot: str) -> Response:
        """Un-retire a snapshot; the answer carries what depends on it now."""
        snap = _snapshot(family, snapshot)
        values = validated(ReasonSerializer, request)
        services.restore_model_snapshot(actor=request.user, snapshot=snap, reason=values["reason"])
        fresh = _snapshot(family, snapshot)
        return _catalogue_change(fresh, snapshot_impact(fresh))
