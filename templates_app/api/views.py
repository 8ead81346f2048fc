"""REST endpoints for the model catalogue, drafts, versions, and a workflow's tree and
pointer history (endpoints that answer a whole workflow are in composition.api).

Each view reads through a `visible_to` queryset and changes state only through
templates_app.services; permissions are checked again inside the services."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from core.api import CursorPage
from core.errors import Problem, ValidationFailed
from core.filters import SafeIsoDateTimeFilter
from core.jsonsafe import SafeJSONParser
from core.permissions import PublicRead
from templates_app import comfyui_import, services
from templates_app.api import serializers as s
from templates_app.diff import diff_versions
from templates_app.models import Draft, ModelSnapshot, PointerMove, Workflow, WorkflowVersion
from templates_app.tree import Node, lineage

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


# --- workflows -------------------------------------------------------------------------


class TreeView(APIView):
    """The direction tree rooted at the base of this workflow's lineage."""

    @extend_schema(responses=s.TreeNodeSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return Response(_tree_answer(lineage(visible_workflow(request, slug)).root))


def _tree_answer(node: Node) -> dict[str, Any]:
    """A node as the API answers it: {slug, …, children} nested from the root of the lineage."""
    w = node.workflow
    return {
        "slug": w.slug,
        "name": w.name,
        "direction_label": w.direction_label,
        "lifecycle": w.lifecycle,
        "derived_from_version": w.derived_from_version.version if w.derived_from_version else None,
        "canonical_version": w.canonical_version.version if w.canonical_version else None,
        "children": [_tree_answer(child) for child in node.children],
    }


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


class DraftImportComfyView(APIView):
    """A draft with one `comfyui` step from a ComfyUI graph: multipart `file` (a PNG ComfyUI saved, or
    an API-format JSON) or a JSON body `{graph}`. 400 when it holds no API-format graph."""

    parser_classes = [SafeJSONParser, MultiPartParser]

    @extend_schema(
        # Documented as the upload only: openapi-python-client 0.29 cannot generate an operation with two
        # request bodies (it drops an import). A JSON body {graph} is read all the same (API.md).
        request={"multipart/form-data": s.ComfyImportUploadSerializer},
        description="Multipart `file` (a PNG that ComfyUI saved, or an API-format JSON export); a JSON body "
        "`{graph}` holding the API-format graph is accepted too.",
        responses={201: s.DraftSerializer, 400: OpenApiResponse(description="No ComfyUI graph in it")},
    )
    def post(self, request: Request, slug: str) -> Response:
        workflow = visible_workflow(request, slug)
        upload = request.FILES.get("file")
        if upload is not None:
            imported = services.import_comfyui_draft(
                actor=request.user, workflow=workflow, data=comfyui_import.read_bounded(upload)
            )
        else:
            graph = request.data.get("graph") if hasattr(request.data, "get") else None
            imported = services.import_comfyui_draft(actor=request.user, workflow=workflow, graph=graph)
        return Response(
            s.DraftSerializer(visible_draft(request, imported.draft.pk)).data, status=status.HTTP_201_CREATED
        )


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
                "warnings": [p.as_dict() for p in result.warnings],
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


# Promotion names an evaluation (runs_app): its view is runs_app.api.views.PromoteView.
VisibilityView = _version_action("VisibilityView", s.VisibilitySerializer, services.raise_visibility)
ChannelView = _version_action("ChannelView", s.ChannelSerializer, services.set_channel)


class VersionDiffView(APIView):
    """From this version to `?to=`: the changes path by path and the bump class they imply (the class
    the publish gate computes: templates_app.diff uses its classify_bump)."""

    permission_classes = [AllowAny]  # reads only versions the caller may see

    @extend_schema(
        parameters=[OpenApiParameter("to", str, required=True, description="The other version.")],
        responses=s.VersionDiffSerializer,
    )
    def get(self, request: Request, slug: str, version: str) -> Response:
        found = visible_version(request, slug, version)
        other = request.query_params.get("to", "")
        if not other:
            raise ValidationFailed([Problem("required", "to", "Name the version to compare with: ?to=<version>.")])
        target = visible_version(request, slug, other)
        diff = diff_versions(found, target)
        return Response(
            {
                "from": found.version,
                "to": target.version,
                "bump": diff.bump,
                "reasons": diff.reasons,
                "changes": diff.changes_json(),
            }
        )


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
