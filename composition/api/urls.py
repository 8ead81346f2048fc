from django.urls import path, re_path

from composition.api import views as v
from templates_app.models import MODEL_REF_PATH

MODEL = rf"^models/{MODEL_REF_PATH}/"

urlpatterns = [
    re_path(MODEL + r"impact/$", v.ModelImpactView.as_view(), name="api-model-impact"),
    re_path(MODEL + r"retire/$", v.ModelRetireView.as_view(), name="api-model-retire"),
    re_path(MODEL + r"default/$", v.ModelDefaultView.as_view(), name="api-model-default"),
    re_path(MODEL + r"restore/$", v.ModelRestoreView.as_view(), name="api-model-restore"),
    path("workflows/", v.WorkflowListView.as_view(), name="api-workflows"),
    path("workflows/<slug:slug>/", v.WorkflowDetailView.as_view(), name="api-workflow"),
    path("workflows/<slug:slug>/derive/", v.DeriveView.as_view(), name="api-workflow-derive"),
    path("workflows/<slug:slug>/approve/", v.ApproveDirectionView.as_view(), name="api-workflow-approve"),
    path("workflows/<slug:slug>/archive/", v.ArchiveView.as_view(), name="api-workflow-archive"),
    path("workflows/<slug:slug>/resurrect/", v.ResurrectView.as_view(), name="api-workflow-resurrect"),
    path("drafts/<int:pk>/spawn-sibling/", v.SpawnSiblingView.as_view(), name="api-draft-spawn"),
]
