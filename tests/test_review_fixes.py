"""Regressions for problems found in review: sub-workflow versions pinned by a
record, input-bound parameter checks, crashes that must fail a run, input
defaults, cycles made by promotion, archived reproduction, one-way fields."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from core.errors import Conflict, ValidationFailed
from runs_app import services
from runs_app.models import ReproductionCheck, Run, RunStatus, VersionRecord
from templates_app import services as templates
from templates_app.models import Draft, WorkflowVersion
from tests.runs_helpers import finished_record, run_now, small_definition
from tests.test_run_engine import overlay_definition

pytestmark = pytest.mark.django_db


def with_overlay():
    d = small_definition()
    d["steps"].append(
        {
            "id": "overlay",
            "kind": "subworkflow",
            "workflow": "brand-overlay",
            "inputs": {"image": "{{steps.styled.output}}"},
        }
    )
    d["outputs"] = {"hero": "{{steps.overlay.outputs.image}}"}
    return d


def test_reproduction_runs_the_sub_workflow_version_the_record_used(make_workflow, publish, operator, manager):
    overlay = make_workflow("brand-overlay", "Brand overlay")
    v1 = publish(overlay, overlay_definition())
    campaign = make_workflow()
    publish(campaign, with_overlay())
    record = finished_record(operator, campaign)
    assert record.subworkflows["overlay"]["version"] == v1.version
    v2 = publish(overlay, overlay_definition("logo top left"))
    templates.promote_version(actor=manager, version=v2)
    run = run_now(services.reproduce_record(actor=operator, record=record))
    assert run.specification["subworkflows"]["overlay"]["version"] == v1.version
    assert ReproductionCheck.objects.get(run=run).verdict == "exact"
    fresh = services.start_run(actor=operator, workflow=campaign, inputs=record.inputs)
    assert fresh.specification["subworkflows"]["overlay"]["version"] == v2.version


def test_values_bound_from_inputs_are_checked_against_the_parameter(make_workflow, publish, operator):
    workflow = make_workflow()
    d = small_definition()
    d["inputs"]["w"] = {"type": "integer", "required": True}
    d["steps"][0]["params"]["width"] = "{{inputs.w}}"
    publish(workflow, d)
    with pytest.raises(ValidationFailed) as refused:
        services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x", "w": -5})
    assert refused.value.problems[0].path == "background.params.width"
    assert not Run.objects.exists()
    ok = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x", "w": 128}))
    assert ok.status == RunStatus.AWAITING_ANNOTATION and ok.steps.get(step_id="background").output.width == 128


def test_an_unexpected_crash_fails_the_run_instead_of_looping(make_workflow, publish, operator, monkeypatch):
    workflow = make_workflow()
    publish(workflow, small_definition())

    def boom(*args, **kwargs):
        raise ValueError("numpy said no")

    monkeypatch.setattr("runs_app.generators.builtin.BuiltinProvider._generate_image", boom)
    run = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x"}))
    assert run.status == RunStatus.FAILED and "numpy said no" in run.error


@pytest.fixture
def dying_run(make_workflow, publish, operator, settings):
    """A run whose first step has used up its attempts: every worker holding it died."""
    workflow = make_workflow()
    publish(workflow, small_definition())
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x"})
    run.steps.filter(step_id="background").update(attempts=settings.FLONIKS_MAX_STEP_ATTEMPTS)
    return run


def test_a_step_whose_worker_keeps_dying_is_failed(dying_run):
    run = run_now(dying_run)
    assert run.status == RunStatus.FAILED and "keeps dying" in run.error


def test_a_cancel_wins_over_a_worker_that_keeps_dying(dying_run):
    from datetime import timedelta

    from django.utils import timezone

    # Its last worker died mid-step after the operator asked to cancel; the lease has run out.
    Run.objects.filter(pk=dying_run.pk).update(
        status=RunStatus.RUNNING,
        lease_owner="dead-worker",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
        cancel_requested=True,
    )
    run = run_now(dying_run)
    assert run.status == RunStatus.CANCELLED and run.error == ""
    assert run.steps.get(step_id="background").status != "failed"


@pytest.mark.parametrize(
    ("inputs", "path"),
    [
        ({"subject": {"type": "string", "default": 3}}, "inputs.subject.default"),
        (
            {"subject": {"type": "string"}, "reference": {"type": "image", "default": "0" * 64}},
            "inputs.reference.default",
        ),
    ],
)
def test_input_defaults_are_checked_by_the_gate(make_workflow, operator, inputs, path):
    d = small_definition()
    d["inputs"] = inputs
    problems = templates.validate_draft(draft=Draft(workflow=make_workflow(), definition=d)).problems
    assert ("invalid_input", path) in {(p.code, p.path) for p in problems}


def test_literal_subworkflow_inputs_are_checked(make_workflow, publish, operator):
    publish(make_workflow("brand-overlay", "Brand overlay"), overlay_definition())
    d = with_overlay()
    d["steps"][2]["inputs"] = {"image": "not an image"}
    problems = templates.validate_draft(draft=Draft(workflow=make_workflow(), definition=d)).problems
    assert ("invalid_parameter", "steps[2].inputs.image") in {(p.code, p.path) for p in problems}


def test_promotion_cannot_close_a_subworkflow_cycle(make_workflow, publish, operator, manager):
    a, b = make_workflow("wf-a", "A"), make_workflow("wf-b", "B")
    publish(a, overlay_definition("a"))
    publish(b, overlay_definition("b"))

    def calling(other):
        d = overlay_definition("x")
        d["steps"].append(
            {"id": "call", "kind": "subworkflow", "workflow": other, "inputs": {"image": "{{steps.stamp.output}}"}}
        )
        d["outputs"] = {"image": "{{steps.call.outputs.image}}"}
        return d

    a2 = publish(a, calling("wf-b"), channel="alternate")
    b2 = publish(b, calling("wf-a"), channel="alternate")
    templates.promote_version(actor=manager, version=a2)
    with pytest.raises(Conflict) as refused:
        templates.promote_version(actor=manager, version=b2)
    assert refused.value.code == "subworkflow_cycle"
    b.refresh_from_db()
    assert b.canonical_version != b2


def test_archived_workflows_cannot_be_reproduced(make_workflow, publish, operator, admin_user):
    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow)
    templates.archive_workflow(actor=admin_user, workflow=workflow, reason="off brief")
    with pytest.raises(Conflict) as refused:
        services.reproduce_record(actor=operator, record=record)
    assert refused.value.code == "workflow_archived"


def test_finalising_a_run_that_is_not_waiting_is_a_conflict_whatever_the_form(make_workflow, publish, operator, api):
    workflow = make_workflow()
    publish(workflow, small_definition())
    queued = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x"})
    response = api(operator).post(f"/api/runs/{queued.pk}/finalize/", {"label": "", "annotation": ""}, format="json")
    assert response.status_code == 409


def test_workflow_patch_is_all_or_nothing(make_workflow, publish, operator, api):
    workflow = make_workflow()
    response = api(operator).patch(
        f"/api/workflows/{workflow.slug}/", {"name": "Renamed", "mode": "production"}, format="json"
    )
    assert response.status_code == 400
    workflow.refresh_from_db()
    assert workflow.name == "Campaign A"


def test_cancelling_a_reproduction_closes_its_check(make_workflow, publish, operator):
    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow)
    run = services.reproduce_record(actor=operator, record=record)
    services.cancel_run(actor=operator, run=run)
    check = ReproductionCheck.objects.get(run=run)
    assert check.verdict == "failed" and check.note == "cancelled"


def test_one_way_fields_never_go_back(make_workflow, publish, operator, manager):
    workflow = make_workflow()
    version = publish(workflow, small_definition(), visibility="public")
    with pytest.raises(ValidationError):
        WorkflowVersion.objects.filter(pk=version.pk).update(visibility="internal")
    record = finished_record(operator, workflow)
    services.approve_record(actor=manager, record=record)
    with pytest.raises(ValidationError):
        VersionRecord.objects.filter(pk=record.pk).update(approved_at=None, approved_by=None)
    record.refresh_from_db()
    record.approved_at = None
    with pytest.raises(ValidationError):
        record.save()
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE runs_app_versionrecord SET approved_at = NULL, approved_by_id = NULL WHERE id = %s", [record.pk]
            )
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM runs_app_recordseed WHERE record_id = %s", [record.pk])
    assert VersionRecord.objects.get(pk=record.pk).approved_by == manager
