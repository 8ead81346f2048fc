"""REST endpoints for runs, version records, reproduction checks and artifacts."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.db.models.fields.json import KeyTransform
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import Conflict, Problem, ValidationFailed
from core.schema import ErrorSerializer
from core.serializers import ReasonSerializer, validated
from core.throttling import ClientScopedRateThrottle
from runs_app import bundles, services
from runs_app.api import serializers as s
from runs_app.compare import compare_records
from runs_app.drift import record_drift
from runs_app.filters import RecordFilter
from runs_app.models import (
    Batch,
    ContactSheet,
    Evaluation,
    ReproductionCheck,
    Run,
    RunStatus,
    RunStep,
    VersionRecord,
    steps_in_order,
)
from runs_app.provenance import verify_upload
from runs_app.storage import read_artifact, read_upload
from templates_app import services as templates
from templates_app.api.serializers import ModelSnapshotSerializer, VersionSerializer
from templates_app.api.views import version_response, visible_version
from templates_app.models import ModelSnapshot, Workflow, WorkflowVersion


def visible_run(request: Request, pk: Any) -> Run:
    return get_object_or_404(Run.objects.visible_to(request.user).with_detail(), pk=pk)


def run_response(request: Request, run_id: Any, code: int = status.HTTP_200_OK) -> Response:
    return Response(s.RunSerializer(visible_run(request, run_id)).data, status=code)


def visible_record(request: Request, pk: Any, *, shown: bool = False) -> VersionRecord:
    """A record the caller may see; `shown` when it is the answer (with its signed copies)."""
    records = VersionRecord.objects.visible_to(request.user).for_detail()
    return get_object_or_404(records.with_signed_copies() if shown else records, pk=pk)


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
            actor=request.user,
            workflow=workflow,
            version=version,
            inputs=values["inputs"],
            mode=values.get("mode"),
            accept_model_drift=values["accept_model_drift"],
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


class DiscardView(APIView):
    @extend_schema(request=None, responses=s.RunSerializer)
    def post(self, request: Request, pk: Any) -> Response:
        services.discard_run(actor=request.user, run=visible_run(request, pk))
        return run_response(request, pk)


class RunAgainView(APIView):
    """The same version, inputs (and swept values) again: fresh seeds in discovery, the pin in production."""

    @extend_schema(request=None, responses={201: s.RunSerializer, 429: ErrorSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        run = services.run_again(actor=request.user, run=visible_run(request, pk))
        return run_response(request, run.pk, status.HTTP_201_CREATED)


class RetryView(APIView):
    """A failed run again from its failed step; the steps that succeeded are reused (409 `not_retryable`)."""

    @extend_schema(request=None, responses={201: s.RunSerializer, 429: ErrorSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        run = services.retry_run(actor=request.user, run=visible_run(request, pk))
        return run_response(request, run.pk, status.HTTP_201_CREATED)


# --- batches (DESIGN §15) ------------------------------------------------------------------


def batch_with_runs(request: Request, pk: Any) -> Batch:
    runs = Run.objects.select_related("record").prefetch_related(steps_in_order()).order_by("created_at", "id")
    return get_object_or_404(
        Batch.objects.visible_to(request.user)
        .select_related("workflow", "version", "created_by")
        .prefetch_related(Prefetch("runs", queryset=runs)),
        pk=pk,
    )


class BatchFilter(django_filters.FilterSet):
    workflow = django_filters.CharFilter(field_name="workflow__slug")
    mine = django_filters.BooleanFilter(method="only_mine")

    class Meta:
        model = Batch
        fields = ["workflow", "mine"]

    def only_mine(self, queryset: QuerySet[Batch], name: str, value: bool) -> QuerySet[Batch]:
        return queryset.filter(created_by=self.request.user) if value else queryset


class BatchListView(generics.ListAPIView[Batch]):
    serializer_class = s.BatchListSerializer
    filterset_class = BatchFilter
    pagination_class = type("BatchPage", (generics.ListAPIView.pagination_class,), {"ordering": "-created_at"})  # type: ignore[arg-type]

    def get_queryset(self) -> QuerySet[Batch]:
        return Batch.objects.visible_to(self.request.user).for_list()

    # 400 when it would make no run or more than 64, or any swept value does not fit its parameter
    # (no run is started then); 429 quota_exceeded when the starter is at the active-run limit.
    @extend_schema(
        request=s.BatchStartSerializer, responses={201: s.BatchSerializer, 404: ErrorSerializer, 429: ErrorSerializer}
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.BatchStartSerializer(data=request.data)
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
        batch = services.start_batch(
            actor=request.user,
            workflow=workflow,
            version=version,
            inputs=values["inputs"],
            count=values.get("count"),
            sweep=values.get("sweep"),
        )
        return Response(s.BatchSerializer(batch_with_runs(request, batch.pk)).data, status=status.HTTP_201_CREATED)


class BatchDetailView(APIView):
    @extend_schema(responses=s.BatchSerializer)
    def get(self, request: Request, pk: Any) -> Response:
        return Response(s.BatchSerializer(batch_with_runs(request, pk)).data)


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
        return record_response(request, visible_record(request, pk, shown=True))


def record_response(request: Request, record: VersionRecord, code: int = status.HTTP_200_OK) -> Response:
    return Response(s.RecordSerializer(record, context={"drift_warnings": record_drift(record)}).data, status=code)


class ApproveRecordView(APIView):
    @extend_schema(request=None, responses=s.RecordSerializer)
    def post(self, request: Request, pk: Any) -> Response:
        services.approve_record(actor=request.user, record=visible_record(request, pk))
        return record_response(request, visible_record(request, pk, shown=True))


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
        return record_response(request, visible_record(request, pk, shown=True))


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


class ProvenanceVerifyView(APIView):
    """Anyone may check a file's C2PA provenance; the record is named to those who may see it."""

    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser]
    throttle_classes = [ClientScopedRateThrottle]
    throttle_scope = "verify"

    @extend_schema(
        request={"multipart/form-data": s.VerifyUploadSerializer},
        responses={200: s.VerificationSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationFailed(
                [Problem("file_required", "file", "Send the file as a multipart field named 'file'.")]
            )
        found = verify_upload(read_upload(upload), request.user)
        return Response(s.VerificationSerializer(found).data)


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


class CaptureEnvironmentView(APIView):
    """`comfyui/<pool>`: read the live server's environment fingerprint into a new dated snapshot
    (admin). 502 provider_unreachable when no server of the pool answers."""

    @extend_schema(
        request=s.CaptureSerializer,
        responses={201: ModelSnapshotSerializer, 409: ErrorSerializer, 502: ErrorSerializer},
    )
    def post(self, request: Request, family: str) -> Response:
        snapshot = services.capture_environment(actor=request.user, family=family)
        fresh = ModelSnapshot.objects.select_related("family").get(pk=snapshot.pk)
        return Response(ModelSnapshotSerializer(fresh).data, status=status.HTTP_201_CREATED)


# --- evidence: promotion, evaluations, contact sheets (DESIGN §14) --------------------------------


def named_evaluation(evidence: Any) -> Evaluation | None:
    """The evaluation a promotion names; one that does not exist is no evidence (409, not 404)."""
    if evidence is None:
        return None
    found = Evaluation.objects.filter(pk=evidence).first()
    if found is None:
        raise Conflict("No evaluation has that id.", code="evidence_required")
    return found


class PromoteView(APIView):
    """Moves the canonical pointer (templates_app.services.promote_version) with the evaluation named
    as evidence; this view lives here because evaluations have runs."""

    @extend_schema(request=s.PromoteSerializer, responses={200: VersionSerializer, 409: ErrorSerializer})
    def post(self, request: Request, slug: str, version: str) -> Response:
        found = visible_version(request, slug, version)
        data = validated(s.PromoteSerializer, request)
        templates.promote_version(
            actor=request.user, version=found, reason=data["reason"], evidence=named_evaluation(data["evidence"])
        )
        return version_response(request, found)


def evaluation_response(request: Request, pk: Any, code: int = status.HTTP_200_OK) -> Response:
    found = get_object_or_404(Evaluation.objects.visible_to(request.user).with_detail(), pk=pk)
    return Response(s.EvaluationSerializer(found).data, status=code)


class EvaluateView(APIView):
    @extend_schema(
        request=s.EvaluateSerializer,
        responses={201: s.EvaluationSerializer, 409: ErrorSerializer, 429: ErrorSerializer},
    )
    def post(self, request: Request, slug: str, version: str) -> Response:
        found = visible_version(request, slug, version)
        data = validated(s.EvaluateSerializer, request)
        record = None
        if data["record"] is not None:
            record = VersionRecord.objects.visible_to(request.user).filter(pk=data["record"]).first()
            if record is None:
                raise ValidationFailed([Problem("invalid_record", "record", "No such record.")])
        evaluation = services.evaluate_version(actor=request.user, version=found, record=record, inputs=data["inputs"])
        return evaluation_response(request, evaluation.pk, status.HTTP_201_CREATED)


class EvaluationDetailView(APIView):
    @extend_schema(responses=s.EvaluationSerializer)
    def get(self, request: Request, pk: Any) -> Response:
        return evaluation_response(request, pk)


def sheet_response(request: Request, pk: Any, code: int = status.HTTP_200_OK) -> Response:
    found = get_object_or_404(ContactSheet.objects.visible_to(request.user).with_detail(), pk=pk)
    return Response(s.ContactSheetSerializer(found).data, status=code)


class ContactSheetStartView(APIView):
    @extend_schema(
        request=s.ContactSheetStartSerializer,
        responses={201: s.ContactSheetSerializer, 409: ErrorSerializer, 429: ErrorSerializer},
    )
    def post(self, request: Request, slug: str) -> Response:
        base = get_object_or_404(Workflow.objects.visible_to(request.user), slug=slug)
        data = validated(s.ContactSheetStartSerializer, request)
        sheet = services.make_contact_sheet(actor=request.user, base=base, **data)
        return sheet_response(request, sheet.pk, status.HTTP_201_CREATED)


class ContactSheetDetailView(APIView):
    @extend_schema(responses=s.ContactSheetSerializer)
    def get(self, request: Request, pk: Any) -> Response:
        return sheet_response(request, pk)


class ContactSheetImageView(APIView):
    """The sheet as one PNG, once composed (404 before)."""

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: Any) -> HttpResponse:
        sheet = get_object_or_404(
            ContactSheet.objects.visible_to(request.user).select_related("image", "base"), pk=pk, image__isnull=False
        )
        assert sheet.image is not None
        response = HttpResponse(read_artifact(sheet.image), content_type="image/png")
        response["Content-Disposition"] = f'attachment; filename="contact-sheet-{sheet.base.slug}.png"'
        return response
