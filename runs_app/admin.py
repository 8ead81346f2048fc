"""Admin for runs, records and artifacts: all read-only (they are history);
the few actions go through runs_app.services."""

from __future__ import annotations

from django.contrib import admin

from core.admin_site import ReadOnlyAdmin, service_action
from runs_app import services
from runs_app.models import (
    Artifact,
    Batch,
    ContactSheet,
    ContactSheetCell,
    Evaluation,
    PendingSignature,
    ProductionPin,
    RecordModel,
    RecordSeed,
    RecordSequence,
    ReproductionCheck,
    Run,
    RunGate,
    RunStep,
    SignedOutput,
    VersionRecord,
    WorkerHeartbeat,
)
from templates_app.admin import ModelFamilyAdmin
from templates_app.models import ModelFamily


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ["id", "workflow", "version", "mode", "status", "created_by", "created_at"]
    list_filter = ["status", "mode"]
    search_fields = ["id", "workflow__slug", "label"]
    actions = [
        service_action("cancel", "Cancel the selected runs", services.cancel_run, "run"),
        service_action("continue", "Continue the selected runs past their gate", services.continue_run, "run"),
        service_action("discard", "Discard the selected runs (kept, still finalizable)", services.discard_run, "run"),
    ]


@admin.register(VersionRecord)
class VersionRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "label",
        "workflow",
        "number",
        "mode",
        "annotated_by",
        "approved_by",
        "legacy_required",
        "created_at",
    ]
    list_filter = ["mode", "legacy_required"]
    search_fields = ["label", "annotation", "workflow__slug"]
    actions = [service_action("approve", "Approve the selected records", services.approve_record, "record")]


for model, columns in [
    (Artifact, ["sha256", "kind", "media_type", "width", "height", "size", "created_at"]),
    (RunStep, ["run", "index", "step_id", "kind", "model", "seed", "status", "queue", "attempts", "progress"]),
    (RunGate, ["run", "after", "reached_at", "continued_by", "continued_at"]),
    (ReproductionCheck, ["record", "verdict", "drift_accepted", "created_by", "created_at"]),
    (ProductionPin, ["workflow", "record", "pinned_by", "pinned_at"]),
    (RecordSequence, ["workflow", "last_number"]),
    (RecordModel, ["record", "step", "family", "snapshot"]),
    (RecordSeed, ["record", "step", "seed"]),
    (SignedOutput, ["record", "name", "artifact", "signer", "created_at"]),
    (PendingSignature, ["record", "since"]),
    (Batch, ["id", "workflow", "version", "count", "created_by", "created_at"]),
    (WorkerHeartbeat, ["name", "queues", "started_at", "seen_at"]),
    (Evaluation, ["id", "workflow", "candidate", "baseline", "status", "bump", "created_by", "created_at"]),
    (ContactSheet, ["id", "base", "status", "seed", "created_by", "created_at"]),
    (ContactSheetCell, ["sheet", "position", "label", "lifecycle", "version", "run"]),
]:
    admin.site.register(model, type(f"{model.__name__}Admin", (ReadOnlyAdmin,), {"list_display": columns}))


# The catalogue's families are templates_app's, but capturing a server's environment needs runs_app's
# provider code: the family admin gains the action here, above templates_app in the layers.
admin.site.unregister(ModelFamily)


@admin.register(ModelFamily)
class CapturingModelFamilyAdmin(ModelFamilyAdmin):
    actions = [
        *(getattr(ModelFamilyAdmin, "actions", None) or []),
        service_action(
            "capture",
            "Capture a new snapshot of the selected ComfyUI pools' environment",
            services.capture_environment,
            "family",
        ),
    ]
