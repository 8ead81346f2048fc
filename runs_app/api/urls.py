from django.urls import path

from runs_app.api import views as v

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
    path("records/<uuid:pk>/bundle/", v.RecordBundleView.as_view(), name="api-record-bundle"),
    path("bundles/", v.BundleImportView.as_view(), name="api-bundles"),
    path("artifacts/", v.ArtifactUploadView.as_view(), name="api-artifacts"),
]
