"""REST endpoints for the model catalogue, workflows, drafts and versions.

Each view reads through a `visible_to` queryset and changes state only through
templates_app.services; permissions are checked again inside the services."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import django_filters
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.api import CursorPage
from core.errors import Problem, ValidationFailed
from core.filters import SafeIsoDateTimeFilter
from core.permissions import PublicRead
from runs_app import services as run_services
from runs_app.approval import approval_impact
from runs_app.drift import workflow_drift
from runs_app.models import VersionRecord
from templates_app import services
from templates_app.api import serializers as s
from templates_app.models import (
    Draft,
    Lifecycle,
    ModelSnapshot,
    PointerMove,
    Workflow,
    WorkflowVersion,
)

# --- auth -----------------------------------------------------------------------


class TokenView(ObtainAuthToken):
    """Exchange a username and password for an API token."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


# --- helpers ----------------------------------------------------------------------


def visible_workflow(request: Request, slug: str) -> Workflow:
    qs = Workflow.objects.visible_to(request.user).with_pointers()
    return get_object_or_404(qs, slug=slug)


def visible_version(request: Request, slug: str, version: str) -> WorkflowVersion:
    workflow = visible_workflow(request, slug)
    qs = WorkflowVersion.objects.visible_to(request.user).select_related("workflow", "published_by")
    found = get_object_or_404(qs, workflow=workflow, version=version)
    found.workflow = workflow  # reuse the row already loaded with its pointers
    return found


def visible_draft(request: Request, pk: int) -> Draft:
    qs = Draft.objects.visible_to(request.user).select_related(
        "workflow__canonical_version", "based_on__workflow", "author", "published_version"
    )
    return get_object_or_404(qs, pk=pk)


def workflow_response(workflow: Workflow, code: int = status.HTTP_200_OK) -> Response:
    fresh = Workflow.objects.with_pointers().select_related("approved_by", "spawned_from").get(pk=workflow.pk)
    return Response(s.WorkflowSerializer(fresh, context={"drift_warnings": workflow_drift(fresh)}).data, status=code)


# --- model catalogue ----------------------------------------------------------------


class ModelListView(generics.ListCreateAPIView[ModelSnapshot]):
    serializer_class = s.ModelSnapshotSerializer
    pagination_class = type("ModelPage", (CursorPage,), {"ordering": "id"})

    def get_queryset(self) -> QuerySet[ModelSnapshot]:
        return ModelSnapshot.objects.select_related("family")

    @extend_schema(request=s.ModelSnapshotCreateSerializer, responses={201: s.ModelSnapshotSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.ModelSnapshotCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        snap = services.add_model_snapshot(actor=request.user, **data.validated_data)
        snap = ModelSnapshot.objects.select_related("family").get(pk=snap.pk)
        return Response(s.ModelSnapshotSerializer(snap).data, status=status.HTTP_201_CREATED)


class ModelRetireView(APIView):
    @extend_schema(request=s.ReasonSerializer, responses={200: s.ModelSnapshotSerializer})
    def post(self, request: Request, family: str, snapshot: str) -> Response:
        snap = get_object_or_404(ModelSnapshot, family__name=family, snapshot=snapshot)
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.retire_model_snapshot(actor=request.user, snapshot=snap, reason=data.validated_data["reason"])
        snap = ModelSnapshot.objects.select_related("family").get(pk=snap.pk)
        return Response(s.ModelSnapshotSerializer(snap).data)


# --- workflows -------------------------------------------------------------------------


class WorkflowFilter(django_filters.FilterSet):
    lifecycle = django_filters.ChoiceFilter(choices=Lifecycle.choices)
    derived_from = django_filters.CharFilter(field_name="derived_from__slug")
    q = django_filters.CharFilter(method="search", label="Search slug, name, description and direction label")

    class Meta:
        model = Workflow
        fields = ["lifecycle", "derived_from", "q"]

    def search(self, queryset: QuerySet[Workflow], name: str, value: str) -> QuerySet[Workflow]:
        return queryset.filter(
            Q(slug__icontains=value)
            | Q(name__icontains=value)
            | Q(description__icontains=value)
            | Q(direction_label__icontains=value)
        )


class WorkflowListView(generics.ListCreateAPIView[Workflow]):
    serializer_class = s.WorkflowSerializer
    filterset_class = WorkflowFilter

    def get_queryset(self) -> QuerySet[Workflow]:
        return (
            Workflow.objects.visible_to(self.request.user).with_pointers().select_related("approved_by", "spawned_from")
        )

    @extend_schema(request=s.WorkflowCreateSerializer, responses={201: s.WorkflowSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.WorkflowCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workflow = services.create_workflow(actor=request.user, **data.validated_data)
        return workflow_response(workflow, status.HTTP_201_CREATED)


class WorkflowDetailView(APIView):
    @extend_schema(responses=s.WorkflowSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return workflow_response(visible_workflow(request, slug))

    @extend_schema(request=s.WorkflowUpdateSerializer, responses=s.WorkflowSerializer)
    @transaction.atomic  # name, description and mode change together or not at all
    def patch(self, request: Request, slug: str) -> Response:
        workflow = visible_workflow(request, slug)
        data = s.WorkflowUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = data.validated_data
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
    @extend_schema(request=s.DeriveSerializer, responses={201: s.WorkflowSerializer})
    def post(self, request: Request, slug: str) -> Response:
        base = visible_workflow(request, slug)
        data = s.DeriveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        version_string = values.pop("version", None)
        version = get_object_or_404(base.versions, version=version_string) if version_string else None
        workflow = services.derive_direction(actor=request.user, base=base, version=version, **values)
        return workflow_response(workflow, status.HTTP_201_CREATED)


class ApproveDirectionView(APIView):
    @extend_schema(responses=dict)
    def get(self, request: Request, slug: str) -> Response:
        """What approving would archive, before anyone does: each sibling with its pin and approved records."""
        workflow = visible_workflow(request, slug)
        return Response({"workflow": workflow.slug, "will_archive": [a.as_dict() for a in approval_impact(workflow)]})

    @extend_schema(request=s.ReasonSerializer, responses=s.ApproveResultSerializer)
    def post(self, request: Request, slug: str) -> Response:
        workflow = visible_workflow(request, slug)
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        impact = approval_impact(workflow)  # issue 11: the answer says what was archived, pins and records too
        archived = services.approve_direction(
            actor=request.user, workflow=workflow, reason=data.validated_data["reason"]
        )
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

    @extend_schema(request=s.ReasonSerializer, responses=s.WorkflowSerializer)
    def post(self, request: Request, slug: str) -> Response:
        workflow = visible_workflow(request, slug)
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.service(actor=request.user, workflow=workflow, reason=data.validated_data["reason"])
        return workflow_response(workflow)


class ResurrectView(ArchiveView):
    service = staticmethod(services.resurrect_workflow)


class TreeView(APIView):
    """The direction tree rooted at the base of this workflow's lineage."""

    @extend_schema(responses=s.TreeNodeSerializer)
    def get(self, request: Request, slug: str) -> Response:
        workflow = visible_workflow(request, slug)
        return Response(direction_tree(workflow))


def direction_tree(workflow: Workflow) -> dict[str, Any]:
    """Nested {slug, …, children} from the root of the lineage; one query per level."""
    root = workflow
    while root.derived_from_id is not None:
        root = Workflow.objects.with_pointers().get(pk=root.derived_from_id)
    nodes: dict[int, dict[str, Any]] = {}

    def node(w: Workflow) -> dict[str, Any]:
        nodes[w.pk] = {
            "slug": w.slug,
            "name": w.name,
            "direction_label": w.direction_label,
            "lifecycle": w.lifecycle,
            "derived_from_version": w.derived_from_version.version if w.derived_from_version else None,
            "canonical_version": w.canonical_version.version if w.canonical_version else None,
            "children": [],
        }
        return nodes[w.pk]

    tree = node(root)
    level = [root.pk]
    while level:
        children = list(Workflow.objects.with_pointers().filter(derived_from_id__in=level).order_by("slug"))
        for child in children:
            nodes[child.derived_from_id]["children"].append(node(child))  # type: ignore[index]
        level = [c.pk for c in children]
    return tree


class PointerHistoryFilter(django_filters.FilterSet):
    pointer = django_filters.CharFilter()
    until = SafeIsoDateTimeFilter(field_name="at", lookup_expr="lte", end_of_day=True)
    since = SafeIsoDateTimeFilter(field_name="at", lookup_expr="gte")

    class Meta:
        model = PointerMove
        fields = ["pointer", "until", "since"]


class PointerHistoryView(generics.ListAPIView[PointerMove]):
    """Every pointer move of a workflow, newest first. `?pointer=canonical&until=<date>`
    answers "what was canonical then": the first result."""

    serializer_class = s.PointerMoveSerializer
    filterset_class = PointerHistoryFilter

    def get_queryset(self) -> QuerySet[PointerMove]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no URL kwargs
            return PointerMove.objects.none()
        return PointerMove.objects.for_workflow(visible_workflow(self.request, self.kwargs["slug"]))


# --- drafts ------------------------------------------------------------------------------


class DraftListView(generics.ListCreateAPIView[Draft]):
    serializer_class = s.DraftSerializer

    def get_queryset(self) -> QuerySet[Draft]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no URL kwargs
            return Draft.objects.none()
        workflow = visible_workflow(self.request, self.kwargs["slug"])
        return (
            Draft.objects.visible_to(self.request.user)
            .open()
            .filter(workflow=workflow)
            .select_related("workflow", "based_on__workflow", "author", "published_version")
        )

    @extend_schema(request=s.DraftWriteSerializer, responses={201: s.DraftSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        workflow = visible_workflow(request, kwargs["slug"])
        data = s.DraftWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        based_on = None
        if version := data.validated_data.get("based_on"):
            based_on = get_object_or_404(WorkflowVersion.objects.filter(workflow=workflow), version=version)
        draft = services.save_draft(
            actor=request.user, workflow=workflow, definition=data.validated_data["definition"], based_on=based_on
        )
        return Response(s.DraftSerializer(visible_draft(request, draft.pk)).data, status=status.HTTP_201_CREATED)


class DraftDetailView(APIView):
    @extend_schema(responses=s.DraftSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.DraftSerializer(visible_draft(request, pk)).data)

    @extend_schema(request=s.DraftUpdateSerializer, responses=s.DraftSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        draft = visible_draft(request, pk)
        data = s.DraftUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.update_draft(actor=request.user, draft=draft, definition=data.validated_data["definition"])
        return Response(s.DraftSerializer(visible_draft(request, pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.discard_draft(actor=request.user, draft=visible_draft(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DraftValidateView(APIView):
    @extend_schema(responses=s.ValidationResultSerializer)
    def get(self, request: Request, pk: int) -> Response:
        result = services.validate_draft(draft=visible_draft(request, pk))
        return Response(
            {
                "valid": result.valid,
                "errors": [p.as_dict() for p in result.problems],
                "bump": result.bump,
                "bump_reasons": result.bump_reasons,
                "manifest_hash": result.manifest_hash,
            }
        )


class DraftPublishView(APIView):
    @extend_schema(
        request=s.PublishSerializer,
        responses={201: s.VersionSerializer, 400: OpenApiResponse(description="Gate refused")},
    )
    def post(self, request: Request, pk: int) -> Response:
        draft = visible_draft(request, pk)
        data = s.PublishSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.publish_draft(actor=request.user, draft=draft, **data.validated_data)
        return version_response(request, version, status.HTTP_201_CREATED)


class SpawnSiblingView(APIView):
    @extend_schema(request=s.SpawnSiblingSerializer, responses={201: s.WorkflowSerializer})
    def post(self, request: Request, pk: int) -> Response:
        draft = visible_draft(request, pk)
        data = s.SpawnSiblingSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workflow = services.spawn_sibling(actor=request.user, draft=draft, **data.validated_data)
        return workflow_response(workflow, status.HTTP_201_CREATED)


# --- versions ------------------------------------------------------------------------------


def version_response(request: Request, version: WorkflowVersion, code: int = status.HTTP_200_OK) -> Response:
    fresh = WorkflowVersion.objects.select_related("workflow", "published_by").get(pk=version.pk)
    return Response(s.VersionSerializer(fresh, context={"request": request}).data, status=code)


class VersionListView(generics.ListAPIView[WorkflowVersion]):
    permission_classes = [PublicRead]
    serializer_class = s.VersionSerializer

    def get_queryset(self) -> QuerySet[WorkflowVersion]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no URL kwargs
            return WorkflowVersion.objects.none()
        workflow = visible_workflow(self.request, self.kwargs["slug"])
        return (
            WorkflowVersion.objects.visible_to(self.request.user)
            .filter(workflow=workflow)
            .select_related("workflow", "published_by")
        )


class VersionDetailView(APIView):
    """Versions are immutable: GET only; PUT, PATCH and DELETE answer 405 to every caller."""

    permission_classes = [AllowAny]  # GET filters to what the caller may see; nothing else is allowed at all

    @extend_schema(responses=s.VersionSerializer)
    def get(self, request: Request, slug: str, version: str) -> Response:
        found = visible_version(request, slug, version)
        return Response(s.VersionSerializer(found, context={"request": request}).data)


class VersionActionView(APIView):
    """POST to a version: validate the body, call one service with it, answer the version."""

    body: type[Serializer[Any]]
    service: Callable[..., WorkflowVersion]

    def post(self, request: Request, slug: str, version: str) -> Response:
        found = visible_version(request, slug, version)
        data = self.body(data=request.data)
        data.is_valid(raise_exception=True)
        type(self).service(actor=request.user, version=found, **data.validated_data)
        return version_response(request, found)


def _version_action(name: str, body: type[Serializer[Any]], service: Callable[..., WorkflowVersion]) -> type[APIView]:
    # A function of its own per view: extend_schema annotates the function object it is given.
    def post(self: VersionActionView, request: Request, slug: str, version: str) -> Response:
        return VersionActionView.post(self, request, slug, version)

    documented = extend_schema(request=body, responses=s.VersionSerializer)(post)
    return type(name, (VersionActionView,), {"body": body, "service": staticmethod(service), "post": documented})


PromoteView = _version_action("PromoteView", s.ReasonSerializer, services.promote_version)
VisibilityView = _version_action("VisibilityView", s.VisibilitySerializer, services.raise_visibility)
ChannelView = _version_action("ChannelView", s.ChannelSerializer, services.set_channel)


class ManifestView(APIView):
    """The manifest's canonical JSON bytes; ETag and Digest carry its hash."""

    permission_classes = [PublicRead]

    @extend_schema(responses={(200, "application/json"): OpenApiResponse(description="RFC 8785 canonical JSON")})
    def get(self, request: Request, manifest_hash: str) -> HttpResponse:
        version = (
            WorkflowVersion.objects.visible_to(request.user)
            .filter(manifest_hash=manifest_hash)
            .only("manifest")
            .first()
        )
        if version is None:
            raise Http404("No visible version has this manifest.")
        body = version.manifest.encode("utf-8")
        response = HttpResponse(body, content_type="application/json")
        response["ETag"] = f'"{manifest_hash}"'
        digest = bytes.fromhex(manifest_hash.removeprefix("sha256:"))
        response["Digest"] = "sha-256=" + base64.b64encode(digest).decode("ascii")
        response["Cache-Control"] = "public, max-age=31536000, immutable" if request.user.is_anonymous else "private"
        return response
