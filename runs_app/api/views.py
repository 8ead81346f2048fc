"""REST endpoints for runs, version records, reproduction checks and artifacts."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.db.models.fields.json import KeyTransform
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import Problem, ValidationFailed
from core.schema import ErrorSerializer
from core.serializers import ReasonSerializer
from runs_app import bundles, services
from runs_app.api import serializers as s
from runs_app.compare import compare_records
from runs_app.drift import record_drift
from runs_app.filters import RecordFilter
from runs_app.models import ReproductionCheck, Run, RunStatus, RunStep, VersionRecord
from runs_app.storage import read_upload
from templates_app.models import Workflow, WorkflowVersion


def visible_run(request: Request, pk: Any) -> Run:
    return get_object_or_404(Run.objects.visible_to(request.user).with_detail(), pk=pk)


def run_response(request: Request, run_id: Any, code: int = status.HTTP_200_OK) -> Response:
    return Response(s.RunSerializer(visible_run(request, run_id)).data, status=code)


def visible_record(request: Request, pk: Any) -> VersionRecord:
    return get_object_or_404(VersionRecord.objects.visible_to(request.user).for_detail(), pk=pk)


# --- runs -----------------------------------------------------------------------------


class RunFilter(django_filters.FilterSet):
    workflow = django_filters.CharFilter(field_name="workflow__slug")
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    mine = django_filters.BooleanFilter(method="only_mine")

    class Meta:
        model = Run
        fields = ["workflow", "status", "mine"]

    def only_mine(self, queryset: QuerySet[Run], name: str, value: bool) -> QuerySet[Run]:
        return queryset.filter(created_by=self.request.user) if value else queryset


class RunListView(generics.ListAPIView[Run]):
    serializer_class = s.RunListSerializer  # issue 11: lists do not embed step lists; the detail does
    filterset_class = RunFilter
    pagination_class = type("RunPage", (generics.ListAPIView.pagination_class,), {"ordering": "-created_at"})  # type: ignore[arg-type]

    def get_queryset(self) -> QuerySet[Run]:
        # Progress and outputs need each step's status and output only, not its parameters.
        steps = RunStep.objects.select_related("output").only(
            "run", "index", "step_id", "status", "output__sha256", "output__media_type"
        )
        return (
            Run.objects.visible_to(self.request.user)
            .select_related("workflow", "version", "created_by", "record")
            .defer("specification")
            .annotate(output_steps=KeyTransform("outputs", "specification"))
            .prefetch_related(Prefetch("steps", queryset=steps.order_by("index")))
        )

    # 429 quota_exceeded: the starter already has FLONIKS_MAX_ACTIVE_RUNS_PER_USER runs queued or running.
    @extend_schema(
        request=s.RunStartSerializer, responses={201: s.RunSerializer, 404: ErrorSerializer, 429: ErrorSerializer}
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.RunStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        workflow = get_object_or_404(Workflow.objects.visible_to(request.user).with_pointers(), slug=values["workflow"])
        version = None
        if values.get("version"):
            version = WorkflowVersion.objects.filter(workflow=workflow, version=values["version"]).first()
            if version is None:
                raise ValidationFailed(
                    [Problem("unknown_version", "version", f"'{workflow.slug}' has no version {values['version']}.")]
                )
        run = services.start_run(
            actor=request.user, workflow=workflow, version=version, inputs=values["inputs"], mode=values.get("mode")
        )
        return run_response(request, run.pk, status.HTTP_201_CREATED)


class RunDetailView(APIView):
    @extend_schema(responses=s.RunSerializer)
    def get(self, request: Request, pk: Any) -> Response:
        return run_response(request, pk)


class FinalizeView(APIView):
    @extend_schema(request=s.FinalizeSerializer, responses={202: s.RunSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        run = visible_run(request, pk)
        data = s.FinalizeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.finalize_run(actor=request.user, run=run, **data.validated_data)
        return run_response(request, pk, status.HTTP_202_ACCEPTED)


class CancelView(APIView):
    @extend_schema(request=None, responses=s.RunSerializer)
    def post(self, request: Request, pk: Any) -> Response:
        services.cancel_run(actor=request.user, run=visible_run(request, pk))
        return run_response(request, pk)


class ContinueView(APIView):
    @extend_schema(request=None, responses=s.RunSerializer)
    def post(self, request: Request, pk: Any) -> Response:
        services.continue_run(actor=request.user, run=visible_run(request, pk))
        return run_response(request, pk)


# --- records ---------------------------------------------------------------------------


class RecordListView(generics.ListAPIView[VersionRecord]):
    serializer_class = s.RecordListSerializer
    filterset_class = RecordFilter
    pagination_class = type("RecordPage", (generics.ListAPIView.pagination_class,), {"ordering": "-created_at"})  # type: ignore[arg-type]

    def get_queryset(self) -> QuerySet[VersionRecord]:
        return VersionRecord.objects.visible_to(self.request.user).for_list()


class RecordDetailView(APIView):
    @extend_schema(responses=s.RecordSerializer)
    def get(self, request: Request, pk: Any) -> Response:
        return record_response(request, visible_record(request, pk))


def record_response(request: Request, record: VersionRecord, code: int = status.HTTP_200_OK) -> Response:
    return Response(s.RecordSerializer(record, context={"drift_warnings": record_drift(record)}).data, status=code)


class ApproveRecordView(APIView):
    @extend_schema(request=None, responses=s.RecordSerializer)
    def post(self, request: Request, pk: Any) -> Response:
        services.approve_record(actor=request.user, record=visible_record(request, pk))
        return record_response(request, visible_record(request, pk))


class ReproduceView(APIView):
    @extend_schema(request=s.ReproduceSerializer, responses={202: s.RunSerializer, 429: ErrorSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        data = s.ReproduceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.reproduce_record(actor=request.user, record=visible_record(request, pk), **data.validated_data)
        return run_response(request, run.pk, status.HTTP_202_ACCEPTED)


class FlagLegacyView(APIView):
    @extend_schema(request=ReasonSerializer, responses=s.RecordSerializer)
    def post(self, request: Request, pk: Any) -> Response:
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.flag_legacy(
            actor=request.user, record=visible_record(request, pk), reason=data.validated_data["reason"]
        )
        return record_response(request, visible_record(request, pk))


class RecordBundleView(APIView):
    """The record as a portable bundle (DESIGN §16, docs/bundles.md), streamed as it is written."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[Any, str]:
        # A download asks for application/zip: answer errors as JSON whatever the Accept header says.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="A version record as a portable bundle (zip)",
        description="record.json, manifest.json (the manifest bytes exactly as hashed), specification.json "
        "(RFC 8785 bytes: their hash is spec_hash), every output, step output and reference image under "
        "artifacts/<sha256>.<ext>, signed copies under signed/, and SHA256SUMS. `POST /api/bundles/` "
        "imports it on another instance.",
        responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The bundle.")},
    )
    def get(self, request: Request, pk: Any) -> StreamingHttpResponse:
        record = visible_record(request, pk)
        response = StreamingHttpResponse(
            bundles.stream_bundle(bundles.export_plan(record)), content_type="application/zip"
        )
        response["Content-Disposition"] = f'attachment; filename="{bundles.file_name(record)}"'
        response["Cache-Control"] = "private, no-store"
        return response


class BundleImportView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Import a record bundle (admin)",
        description="Every hash is checked before anything is written; a bundle with any member wrong "
        "answers 400 naming the member. 409 `already_imported` or `record_exists` for a record that is "
        "here already, `version_conflict` when a version string here holds another manifest.",
        request={"multipart/form-data": s.BundleUploadSerializer},
        responses={201: s.RecordSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        record = services.import_bundle(actor=request.user, source=upload.file if upload is not None else None)
        return record_response(request, visible_record(request, record.pk), status.HTTP_201_CREATED)


class CheckListView(generics.ListAPIView[ReproductionCheck]):
    serializer_class = s.CheckSerializer

    def get_queryset(self) -> QuerySet[ReproductionCheck]:
        if getattr(self, "swagger_fake_view", False):
            return ReproductionCheck.objects.none()
        record = visible_record(self.request, self.kwargs["pk"])
        return ReproductionCheck.objects.filter(record=record).shown()


class CompareView(APIView):
    """Differences between two records: parameters, seeds, models and outputs."""

    @extend_schema(
        parameters=[
            OpenApiParameter("a", OpenApiTypes.UUID, required=True, description="A record id."),
            OpenApiParameter("b", OpenApiTypes.UUID, required=True, description="The record id to compare it with."),
        ],
        responses={200: dict, 404: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        ids = [request.query_params.get("a"), request.query_params.get("b")]
        if not all(ids):
            raise ValidationFailed(
                [Problem("required", "a" if not ids[0] else "b", "Give two record ids: ?a=<id>&b=<id>.")]
            )
        a, b = (visible_record(request, i) for i in ids)
        return Response(compare_records(a, b))


# --- artifacts ---------------------------------------------------------------------------


class ArtifactUploadView(APIView):
    parser_classes = [MultiPartParser]
    never_answers = frozenset({409})  # the same bytes uploaded twice are the same artifact (core.schema)

    @extend_schema(request={"multipart/form-data": s.ArtifactUploadSerializer}, responses={201: s.ArtifactSerializer})
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationFailed(
                [Problem("file_required", "file", "Send the image as a multipart field named 'file'.")]
            )
        artifact = services.upload_artifact(actor=request.user, data=read_upload(upload))
        return Response(s.ArtifactSerializer(artifact).data, status=status.HTTP_201_CREATED)
