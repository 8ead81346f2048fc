from django.urls import path

from runs_app.api import views as v

VERSION = "workflows/<slug:slug>/versions/<str:version>/"

urlpatterns = [
    path("runs/", v.RunListView.as_view(), name="api-runs"),
    path("runs/<uuid:pk>/", v.RunDetailView.as_view(), name="api-run"),
    path("runs/<uuid:pk>/finalize/", v.FinalizeView.as_view(), name="api-run-finalize"),
    path("runs/<uuid:pk>/cancel/", v.CancelView.as_view(), name="api-run-cancel"),
    path("runs/<uuid:pk>/continue/", v.ContinueView.as_view(), name="api-run-continue"),
    path("records/", v.RecordListView.as_view(), name="api-records"),
    path("records/compare/", v.CompareView.as_view(), name="api-records-compare"),
    path("records/<uuid:pk>/", v.RecordDetailView.as_view(), name="api-record"),
    path("records/<uuid:pk>/approve/", v.ApproveRecordView.as_view(), name="api-record-approve"),
    path("records/<uuid:pk>/reproduce/", v.ReproduceView.as_view(), name="api-record-reproduce"),
    path("records/<uuid:pk>/flag-legacy/", v.FlagLegacyView.as_view(), name="api-record-flag-legacy"),
    path("records/<uuid:pk>/checks/", v.CheckListView.as_view(), name="api-record-checks"),
    path("artifacts/", v.ArtifactUploadView.as_view(), name="api-artifacts"),
    path(VERSION + "promote/", v.PromoteView.as_view(), name="api-version-promote"),
    path(VERSION + "evaluate/", v.EvaluateView.as_view(), name="api-version-evaluate"),
    path("evaluations/<uuid:pk>/", v.EvaluationDetailView.as_view(), name="api-evaluation"),
    path("workflows/<slug:slug>/contact-sheet/", v.ContactSheetStartView.as_view(), name="api-contact-sheet-start"),
    path("contact-sheets/<uuid:pk>/", v.ContactSheetDetailView.as_view(), name="api-contact-sheet"),
    path("contact-sheets/<uuid:pk>/image.png", v.ContactSheetImageView.as_view(), name="api-contact-sheet-image"),
]
