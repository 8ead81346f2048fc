from django.urls import path

from composition.api import views as v

urlpatterns = [
    path("workflows/", v.WorkflowListView.as_view(), name="api-workflows"),
    path("workflows/<slug:slug>/", v.WorkflowDetailView.as_view(), name="api-workflow"),
    path("workflows/<slug:slug>/derive/", v.DeriveView.as_view(), name="api-workflow-derive"),
    path("workflows/<slug:slug>/approve/", v.ApproveDirectionView.as_view(), name="api-workflow-approve"),
    path("workflows/<slug:slug>/archive/", v.ArchiveView.as_view(), name="api-workflow-archive"),
    path("workflows/<slug:slug>/resurrect/", v.ResurrectView.as_view(), name="api-workflow-resurrect"),
    path("drafts/<int:pk>/spawn-sibling/", v.SpawnSiblingView.as_view(), name="api-draft-spawn"),
]
