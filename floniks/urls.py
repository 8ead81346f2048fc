from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.decorators.http import require_http_methods
from drf_spectacular.views import SpectacularAPIView

from composition import catalogue_pages as catalogue
from composition import pages as composed
from floniks.auth import ThrottledLoginView
from floniks.browser_policy import api_docs_view
from floniks.health import healthz
from runs_app import evidence_pages as evidence
from runs_app import pages, queue_pages
from runs_app import views as artifacts
from templates_app import views as templates
from templates_app.models import MODEL_REF_PATH

handler404 = "core.api.not_found"

urlpatterns = [
    path("", composed.dashboard, name="dashboard"),
    path("inbox/records/<uuid:pk>/approve/", composed.inbox_approve, name="record-inbox-approve"),
    # Sign-in, sign-out and password change; no password reset (it needs outgoing mail).
    path("accounts/login/", require_http_methods(["GET", "POST"])(ThrottledLoginView.as_view()), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("public/", templates.public_versions, name="public"),
    path("manifests/<str:manifest_hash>/", templates.manifest_page, name="manifest"),
    path("workflows/", templates.library, name="library"),
    path("workflows/new/", templates.workflow_new, name="workflow-new"),
    path("workflows/<slug:slug>/", composed.workflow_page, name="workflow"),
    path("workflows/<slug:slug>/do/<str:action>/", composed.workflow_action, name="workflow-action"),
    path("workflows/<slug:slug>/derive/", templates.derive, name="workflow-derive"),
    path("workflows/<slug:slug>/drafts/new/", templates.draft_new, name="draft-new"),
    path("workflows/<slug:slug>/drafts/import-comfyui/", templates.draft_import_comfyui, name="draft-import-comfyui"),
    path("workflows/<slug:slug>/run/", pages.run_form, name="run-form"),
    path("workflows/<slug:slug>/versions/<str:version>/diff/", templates.version_diff, name="version-diff"),
    path("workflows/<slug:slug>/versions/<str:version>/evaluate/", evidence.evaluation_start, name="evaluation-start"),
    path("workflows/<slug:slug>/contact-sheet/", evidence.sheet_start, name="contact-sheet-start"),
    path("evaluations/<uuid:pk>/", evidence.evaluation_page, name="evaluation"),
    path("evaluations/<uuid:pk>/promote/", evidence.evaluation_promote, name="evaluation-promote"),
    path("contact-sheets/<uuid:pk>/", evidence.sheet_page, name="contact-sheet"),
    path("contact-sheets/<uuid:pk>/image.png", evidence.sheet_image, name="contact-sheet-image"),
    path("drafts/<int:pk>/", templates.draft_editor, name="draft"),
    path("drafts/<int:pk>/form/", templates.draft_form, name="draft-form"),
    path("drafts/<int:pk>/validate/", templates.draft_validate, name="draft-validate"),
    path("drafts/<int:pk>/form/validate/", templates.draft_form_validate, name="draft-form-validate"),
    path("drafts/<int:pk>/publish/", templates.draft_publish, name="draft-publish"),
    path("drafts/<int:pk>/discard/", templates.draft_discard, name="draft-discard"),
    path("drafts/<int:pk>/spawn/", templates.draft_spawn, name="draft-spawn"),
    path("runs/", queue_pages.queue_page, name="queue"),
    path("runs/<uuid:pk>/", pages.run_page, name="run"),
    path("runs/<uuid:pk>/again/", queue_pages.run_again, name="run-again"),
    path("runs/<uuid:pk>/retry/", queue_pages.run_retry, name="run-retry"),
    path("runs/<uuid:pk>/discard/", queue_pages.run_discard, name="run-discard"),
    path("batches/<uuid:pk>/", queue_pages.batch_page, name="batch"),
    path("batches/<uuid:pk>/finalize/", queue_pages.batch_finalize, name="batch-finalize"),
    path("runs/<uuid:pk>/finalize/", pages.run_finalize, name="run-finalize"),
    path("runs/<uuid:pk>/cancel/", pages.run_cancel, name="run-cancel"),
    path("runs/<uuid:pk>/continue/", pages.run_continue, name="run-continue"),
    path("records/", pages.history, name="history"),
    path("records/compare/", pages.compare, name="compare"),
    path("records/compare/diff.png", pages.compare_image, name="compare-image"),
    path("records/<uuid:pk>/", pages.record_page, name="record"),
    path("records/<uuid:pk>/checks/<int:check_pk>/", pages.check_page, name="record-check"),
    path("records/<uuid:pk>/outputs.zip", pages.record_outputs, name="record-outputs"),
    path("records/<uuid:pk>/<str:action>/", pages.record_action, name="record-action"),
    path("verify/", pages.verify_page, name="verify"),
    path("artifacts/<str:sha256>", artifacts.artifact, name="artifact"),
    path("artifacts/<str:sha256>/thumb", artifacts.thumbnail, name="thumbnail"),
    path("artifacts/<str:sha256>/preview", artifacts.preview, name="preview"),
    path("models/", catalogue.catalogue, name="catalogue"),
    re_path(
        rf"^models/{MODEL_REF_PATH}/$",
        catalogue.snapshot_page,
        name="model-snapshot",
    ),
    re_path(
        rf"^models/{MODEL_REF_PATH}/(?P<action>[a-z]+)/$",
        catalogue.snapshot_action,
        name="model-snapshot-action",
    ),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("templates_app.api.urls")),
    path("api/", include("composition.api.urls")),
    path("api/", include("runs_app.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs_view(), name="api-docs"),
]
