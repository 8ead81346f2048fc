from django.urls import path, re_path

from runs_app.api import views as v

VERSION = "workflows/<slug:slug>/versions/<str:version>/"

urlpatterns = [
    path("runs/", v.RunListView.as_view(), name="api-runs"),
    path("runs/<uuid:pk>/", v.RunDetailView.as_view(), name="api-run"),
    path("runs/<uuid:pk>/finalize/", v.FinalizeView.as_view(), name="api-run-finalize"),
    path("runs/<uuid:pk>/cancel/", v.CancelView.as_view(), name="api-run-cancel"),
    path("runs/<uuid:pk>/continue/", v.ContinueView.as_view(), name="api-run-continue"),
    path("runs/<uuid:pk>/discard/", v.DiscardView.as_view(), name="api-run-discard"),
    path("runs/<uuid:pk>/run-again/", v.RunAgainView.as_view(), name="api-run-again"),
    path("runs/<uuid:pk>/retry/", v.RetryView.as_view(), name="api-run-retry"),
    path("batches/", v.BatchListView.as_view(), name="api-batches"),
    path("batches/<uuid:pk>/", v.BatchDetailView.as_view(), name="api-batch"),
    path("records/", v.RecordListView.as_view(), name="api-records"),
    path("records/compare/", v.CompareView.as_view(), name="api-records-compare"),
    path("records/<uuid:pk>/", v.RecordDetailView.as_view(), name="api-record"),
    path("records/<uuid:pk>/approve/", v.ApproveRecordView.as_view(), name="api-record-approve"),
    path("records/<uuid:pk>/reproduce/", v.ReproduceView.as_view(), name="api-record-reproduce"),
    path("records/<uuid:pk>/flag-legacy/", v.FlagLegacyView.as_view(), name="api-record-flag-legacy"),
    path("records/<uuid:pk>/checks/", v.CheckListView.as_view(), name="api-record-checks"),
    path("records/<uuid:pk>/bundle/", v.RecordBundleView.as_view(), name="api-record-bundle"),
    path("bundles/", v.BundleImportView.as_view(), name="api-bundles"),
    path("artifacts/", v.ArtifactUploadView.as_view(), name="api-artifacts"),
    path("provenance/verify/", v.ProvenanceVerifyView.as_view(), name="api-provenance-verify"),
    re_path(
        r"^models/(?P<family>[a-z0-9_-]+/[a-z0-9_.-]+)/capture/$",
        v.CaptureEnvironmentView.as_view(),
        name="api-model-capture",
    ),
    path(VERSION + "promote/", v.PromoteView.as_view(), name="api-version-promote"),
    path(VERSION + "evaluate/", v.EvaluateView.as_view(), name="api-version-evaluate"),
    path("evaluations/<uuid:pk>/", v.EvaluationDetailView.as_view(), name="api-evaluation"),
    path("workflows/<slug:slug>/contact-sheet/", v.ContactSheetStartView.as_view(), name="api-contact-sheet-start"),
    path("contact-sheets/<uuid:pk>/", v.ContactSheetDetailView.as_view(), name="api-contact-sheet"),
    path("contact-sheets/<uuid:pk>/image.png", v.ContactSheetImageView.as_view(), name="api-contact-sheet-image"),
]
