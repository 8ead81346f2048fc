from django.urls import path

from core.token_api import TokenView
from templates_app.api import views as v

VERSION = "workflows/<slug:slug>/versions/<str:version>/"

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("models/", v.ModelListView.as_view(), name="api-models"),
    path("workflows/<slug:slug>/tree/", v.TreeView.as_view(), name="api-workflow-tree"),
    path("workflows/<slug:slug>/history/", v.PointerHistoryView.as_view(), name="api-workflow-history"),
    path("workflows/<slug:slug>/drafts/", v.DraftListView.as_view(), name="api-workflow-drafts"),
    path(
        "workflows/<slug:slug>/drafts/import-comfyui/",
        v.DraftImportComfyView.as_view(),
        name="api-draft-import-comfyui",
    ),
    path("workflows/<slug:slug>/versions/", v.VersionListView.as_view(), name="api-versions"),
    path(VERSION, v.VersionDetailView.as_view(), name="api-version"),
    path(VERSION + "diff/", v.VersionDiffView.as_view(), name="api-version-diff"),
    path(VERSION + "visibility/", v.VisibilityView.as_view(), name="api-version-visibility"),
    path(VERSION + "channel/", v.ChannelView.as_view(), name="api-version-channel"),
    path("drafts/<int:pk>/", v.DraftDetailView.as_view(), name="api-draft"),
    path("drafts/<int:pk>/validate/", v.DraftValidateView.as_view(), name="api-draft-validate"),
    path("drafts/<int:pk>/publish/", v.DraftPublishView.as_view(), name="api-draft-publish"),
    path("manifests/<str:manifest_hash>/", v.ManifestView.as_view(), name="api-manifest"),
]
