"""Runs, finalisation, records, modes, drift and reproduction (engine executed
in-process here; tests/test_workers.py runs the same through real workers)."""

from __future__ import annotations

import pytest
from django.test import Client

from core.errors import Conflict, ValidationFailed
from runs_app import services
from runs_app.models import ReproductionCheck, Run, RunStatus, VersionRecord
from templates_app import services as template_services
from templates_app.models import ModelSnapshot
from tests.helpers import finished_record, run_now, small_definition

pytestmark = pytest.mark.django_db


@pytest.fixture
def workflow(make_workflow, publish):
    wf = make_workflow()
    publish(wf, small_definition())
    return wf


def test_run_pins_version_and_resolves_a_frozen_specification(workflow, operator):
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"})
    spec = run.specification
    assert run.version == workflow.canonical_version and run.status == RunStatus.QUEUED
    assert spec["version"] == workflow.canonical_version.version
    assert spec["manifest_hash"] == workflow.canonical_version.manifest_hash
    assert run.spec_hash.startswith("sha256:")
    background, styled = spec["steps"]
    assert background["model"] == "local/plasma@2026-06-15"  # floating → today's default
    assert styled["model"] == "local/mosaic@2026-08-30"
    assert background["params"]["prompt"] == "a fox, warm earthy palette"
    assert background["params"]["guidance_scale"] == 7.5  # defaults are part of the spec
    assert styled["params"]["image"] == {"step": "background"}
    assert isinstance(background["seed"], int) and isinstance(styled["seed"], int)


def test_bad_inputs_are_refused_with_every_problem(workflow, operator):
    with pytest.raises(ValidationFailed) as refused:
        services.start_run(actor=operator, workflow=workflow, inputs={"mood": "x", "reference": "not-a-sha"})
    codes = {(p.code, p.path) for p in refused.value.problems}
    assert codes == {
        ("unknown_input", "inputs.mood"),
        ("missing_input", "inputs.subject"),
        ("invalid_input", "inputs.reference"),
    }
    assert not Run.objects.exists()


def test_archived_workflow_cannot_run(workflow, operator, admin_user):
    template_services.archive_workflow(actor=admin_user, workflow=workflow, reason="off brief")
    with pytest.raises(Conflict) as refused:
        services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x"})
    assert refused.value.code == "workflow_archived"


def test_executed_run_waits_for_annotation_with_every_step_recorded(workflow, operator):
    run = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"}))
    assert run.status == RunStatus.AWAITING_ANNOTATION and run.progress == 1.0
    steps = list(run.steps.order_by("index"))
    assert [s.status for s in steps] == ["succeeded", "succeeded"]
    assert all(s.output and s.attempts == 1 and s.duration_ms is not None and s.model for s in steps)
    assert steps[0].output.width == 96 and steps[1].output.media_type == "image/png"


def test_blank_annotation_is_refused_and_a_confirmed_skip_is_attributed(workflow, operator, api):
    run = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"}))
    client = api(operator)
    refused = client.post(f"/api/runs/{run.pk}/finalize/", {"label": "quick", "annotation": "  "}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "annotation_required"
    assert Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_ANNOTATION
    accepted = client.post(
        f"/api/runs/{run.pk}/finalize/", {"label": "quick", "confirm_no_annotation": True}, format="json"
    )
    assert accepted.status_code == 202 and accepted.json()["status"] == "recording"
    record = services.write_record(run_id=run.pk)
    assert record.saved_without_annotation is True and record.annotated_by == operator and record.annotation == ""
    again = client.post(f"/api/runs/{run.pk}/finalize/", {"label": "x", "annotation": "y"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "not_awaiting_annotation"


def test_too_long_labels_and_annotations_are_refused_naming_the_field_and_limit(workflow, operator, api):
    run = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"}))
    client = api(operator)
    for body, path, code, limit in (
        ({"label": "fox", "annotation": "x" * 140_000}, "annotation", "annotation_too_long", "20,000"),
        ({"label": "f" * 61, "annotation": "why"}, "label", "label_too_long", "60"),
    ):
        refused = client.post(f"/api/runs/{run.pk}/finalize/", body, format="json")
        assert refused.status_code == 400, body
        problem = refused.json()["errors"][0]
        assert (problem["code"], problem["path"]) == (code, path)
        assert f"at most {limit} characters" in problem["message"]
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_ANNOTATION and run.label == "" and run.annotation == ""
    assert not VersionRecord.objects.exists()


def test_record_holds_everything_and_is_written_once(workflow, operator, api):
    record = finished_record(operator, workflow, label="Warmer palette!")
    assert services.write_record(run_id=record.run_id) == record  # idempotent
    assert VersionRecord.objects.count() == 1
    body = api(operator).get(f"/api/records/{record.pk}/").json()
    assert body["number"] == 1 and body["label"] == "v1-warmer-palette"
    for key in [
        "id",
        "workflow",
        "version",
        "manifest_hash",
        "spec_hash",
        "mode",
        "created_at",
        "annotation",
        "annotated_by",
        "parameters",
        "seeds",
        "models",
        "outputs",
    ]:
        assert body[key], key
    assert set(body["parameters"]) == {"background", "styled"}
    assert body["parameters"]["background"]["scheduler"] == "euler"
    assert set(body["seeds"]) == {"background", "styled"}
    assert body["models"] == {"background": "local/plasma@2026-06-15", "styled": "local/mosaic@2026-08-30"}
    assert body["outputs"]["hero"]["url"] == f"/artifacts/{body['outputs']['hero']['sha256']}"
    assert body["approved_by"] is None and body["legacy_required"] is False and body["checks"] == []


def test_reference_images_are_recorded(workflow, operator, api):
    from tests.helpers import png_bytes

    uploaded = api(operator).post("/api/artifacts/", {"file": png_bytes()}, format="multipart").json()
    d = small_definition()
    d["steps"][1]["params"]["image"] = "{{inputs.reference}}"
    d["steps"][1]["params"]["prompt"] = "{{inputs.subject}}"
    v2 = template_services.publish_draft(
        actor=operator, draft=template_services.save_draft(actor=operator, workflow=workflow, definition=d)
    )
    run = run_now(
        services.start_run(
            actor=operator, workflow=workflow, version=v2, inputs={"subject": "fox", "reference": uploaded["sha256"]}
        )
    )
    services.finalize_run(actor=operator, run=run, label="ref", annotation="with the client's photo")
    record = services.write_record(run_id=run.pk)
    assert record.reference_images == [{"sha256": uploaded["sha256"], "url": uploaded["url"]}]


def test_discovery_seeds_are_fresh_each_run(workflow, operator):
    seeds = {
        services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x"}).specification["steps"][0]["seed"]
        for _ in range(3)
    }
    assert len(seeds) == 3


def test_production_mode_needs_an_approved_record_and_reproduces_it_exactly(workflow, operator, manager, api):
    record = finished_record(operator, workflow)
    refused = api(operator).patch(
        f"/api/workflows/{workflow.slug}/", {"mode": "production", "pin_record": str(record.pk)}, format="json"
    )
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "record_not_approved"
    services.approve_record(actor=manager, record=record)
    switched = api(operator).patch(
        f"/api/workflows/{workflow.slug}/", {"mode": "production", "pin_record": str(record.pk)}, format="json"
    )
    assert switched.status_code == 200, switched.content
    body = switched.json()
    assert body["mode"] == "production" and body["production_pin"]["seeds"] == record.seeds
    assert body["production_pin"]["models"] == record.step_models and body["drift_warnings"] == []
    workflow.refresh_from_db()
    run = run_now(services.start_run(actor=operator, workflow=workflow, inputs=record.inputs))
    assert run.mode == "production" and run.spec_hash == record.spec_hash
    assert {s["id"]: s["seed"] for s in run.specification["steps"]} == record.seeds
    outputs = {s.step_id: s.output.sha256 for s in run.steps.all()}
    assert outputs["styled"] == record.outputs["hero"]["sha256"]


def test_reproduce_is_exact_and_a_newer_default_does_not_refuse_it(workflow, operator, admin_user, api):
    record = finished_record(operator, workflow)
    client = api(operator)
    started = client.post(f"/api/records/{record.pk}/reproduce/", {}, format="json")
    assert started.status_code == 202
    run_now(Run.objects.get(pk=started.json()["id"]))
    checks = client.get(f"/api/records/{record.pk}/checks/").json()["results"]
    assert [c["verdict"] for c in checks] == ["exact"] and checks[0]["scores"]["hero"]["identical"] is True

    # A newer default snapshot of local/plasma appears: the record still names an available snapshot,
    # so reproducing uses it (that is what pinning is for) and says so, without asking for a choice.
    template_services.add_model_snapshot(
        actor=admin_user, family="local/plasma", snapshot="2026-11-01", make_default=True
    )
    detail = client.get(f"/api/records/{record.pk}/").json()
    assert detail["drift_warnings"][0]["recorded"] == "local/plasma@2026-06-15"
    assert detail["drift_warnings"][0]["current"] == "local/plasma@2026-11-01"
    again = client.post(f"/api/records/{record.pk}/reproduce/", {}, format="json")
    assert again.status_code == 202, again.content
    run = run_now(Run.objects.get(pk=again.json()["id"]))
    assert run.specification["steps"][0]["model"] == "local/plasma@2026-06-15"
    check = ReproductionCheck.objects.get(run=run)
    assert check.verdict == "exact" and check.note == "" and not check.drift_accepted
    browser = Client()
    browser.force_login(operator)
    page = browser.get(f"/records/{record.pk}/")
    assert b"Reproducing still uses the recorded snapshots" in page.content
    assert b"Reproduce with today's model" not in page.content


def test_retired_snapshot_needs_a_choice_then_runs_with_todays(workflow, operator, admin_user, api):
    record = finished_record(operator, workflow)
    template_services.add_model_snapshot(
        actor=admin_user, family="local/plasma", snapshot="2026-11-01", make_default=True
    )
    template_services.retire_model_snapshot(
        actor=admin_user, snapshot=ModelSnapshot.objects.get(family__name="local/plasma", snapshot="2026-06-15")
    )
    client = api(operator)
    drift = client.post(f"/api/records/{record.pk}/reproduce/", {}, format="json")
    assert drift.status_code == 409 and drift.json()["code"] == "model_drift"
    assert drift.json()["errors"][0]["path"] == "background"
    assert "retired" in drift.json()["errors"][0]["message"]
    assert not ReproductionCheck.objects.filter(record=record).exists()

    accepted = client.post(f"/api/records/{record.pk}/reproduce/", {"accept_model_drift": True}, format="json")
    assert accepted.status_code == 202
    run = run_now(Run.objects.get(pk=accepted.json()["id"]))
    assert run.specification["steps"][0]["model"] == "local/plasma@2026-11-01"
    check = ReproductionCheck.objects.get(run=run)
    # Which of near/different a changed model gives is pinned on constructed images in test_verdicts.py.
    assert check.verdict in ("near", "different") and check.note == "model differs; outputs may differ"
    assert check.scores["hero"]["identical"] is False and check.scores["hero"]["ssim"] < 1


def test_retired_snapshot_can_be_flagged_legacy(workflow, operator, admin_user, api):
    d = small_definition()
    d["steps"][0]["model"] = "local/plasma@2026-04-21"
    v2 = template_services.publish_draft(
        actor=operator, draft=template_services.save_draft(actor=operator, workflow=workflow, definition=d)
    )
    run = run_now(services.start_run(actor=operator, workflow=workflow, version=v2, inputs={"subject": "fox"}))
    services.finalize_run(actor=operator, run=run, label="old model", annotation="uses the April snapshot")
    record = services.write_record(run_id=run.pk)
    template_services.retire_model_snapshot(
        actor=admin_user, snapshot=ModelSnapshot.objects.get(family__name="local/plasma", snapshot="2026-04-21")
    )
    client = api(operator)
    drift = client.post(f"/api/records/{record.pk}/reproduce/", {}, format="json")
    assert drift.status_code == 409 and "retired" in drift.json()["errors"][0]["message"]
    flagged = client.post(f"/api/records/{record.pk}/flag-legacy/", {"reason": "needs April model"}, format="json")
    assert flagged.status_code == 200 and flagged.json()["legacy_required"] is True
    assert flagged.json()["checks"][0]["verdict"] == "legacy_required"


def test_cancel_a_queued_run(workflow, operator, api):
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x"})
    response = api(operator).post(f"/api/runs/{run.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    run_now(run)  # a late delivery does nothing
    assert Run.objects.get(pk=run.pk).status == RunStatus.CANCELLED
    assert api(operator).post(f"/api/runs/{run.pk}/cancel/").status_code == 409


def test_approve_record_is_for_managers(workflow, operator, manager, api):
    record = finished_record(operator, workflow)
    assert api(operator).post(f"/api/records/{record.pk}/approve/").status_code == 403
    approved = api(manager).post(f"/api/records/{record.pk}/approve/")
    assert approved.status_code == 200 and approved.json()["approved_by"] == manager.username
    assert api(manager).post(f"/api/records/{record.pk}/approve/").status_code == 409


def test_compare_two_records(workflow, operator, api):
    a = finished_record(operator, workflow, inputs={"subject": "a fox"})
    b = finished_record(operator, workflow, inputs={"subject": "a hare"}, label="hare")
    body = api(operator).get(f"/api/records/compare/?a={a.pk}&b={b.pk}").json()
    assert body["parameters"]["background"]["prompt"] == {
        "a": "a fox, warm earthy palette",
        "b": "a hare, warm earthy palette",
    }
    assert set(body["seeds"]) == {"background", "styled"} and body["models"] == {}
    assert body["outputs"]["hero"]["identical"] is False and 0 <= body["outputs"]["hero"]["similarity"] < 1


def test_record_filters(workflow, operator, manager, api):
    a = finished_record(operator, workflow, label="warm one", annotation="client loved the warmth")
    b = finished_record(operator, workflow, label="cool one", annotation="trying something else")
    services.approve_record(actor=manager, record=b)
    client = api(operator)

    def ids(query):
        return {r["id"] for r in client.get(f"/api/records/?{query}").json()["results"]}

    assert ids("q=loved") == {str(a.pk)}
    assert ids("approved=true") == {str(b.pk)} and ids("approved=false") == {str(a.pk)}
    assert ids(f"seed={a.seeds['background']}") == {str(a.pk)}
    assert ids("model=local/mosaic@2026-08-30") == {str(a.pk), str(b.pk)}
    assert ids("model=local/aurora") == set()
    assert ids(f"workflow={workflow.slug}&model=local/plasma&q=cool") == {str(b.pk)}


def test_record_detail_names_who_checked_it(workflow, operator, manager, api):
    """The record's checks carry their authors' names, on the API and the page; their query
    counts are pinned in tests/test_query_counts.py."""
    count = 3
    records = [finished_record(operator, workflow, label=f"n{i}") for i in range(count)]
    client = api(operator)
    assert len(client.get("/api/records/?model=local/plasma&seed=1&q=x").json()["results"]) == 0
    assert len(client.get("/api/records/").json()["results"]) == count
    for _ in range(count):
        services.flag_legacy(actor=manager, record=records[0], reason="needs the old model")
    detail = client.get(f"/api/records/{records[0].pk}/").json()
    assert [c["created_by"] for c in detail["checks"]] == [manager.username] * count
    assert (detail["workflow"], detail["version"], detail["annotated_by"]) == (
        workflow.slug,
        records[0].version.version,
        operator.username,
    )
    page = Client()
    page.force_login(operator)
    assert page.get(f"/records/{records[0].pk}/").content.decode().count(manager.username) == count
    assert client.get(f"/api/runs/{records[0].run_id}/").status_code == 200


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


def test_archived_workflows_cannot_be_reproduced(make_workflow, publish, operator, admin_user):
    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow)
    template_services.archive_workflow(actor=admin_user, workflow=workflow, reason="off brief")
    with pytest.raises(Conflict) as refused:
        services.reproduce_record(actor=operator, record=record)
    assert refused.value.code == "workflow_archived"


def test_finalising_a_run_that_is_not_waiting_is_a_conflict_whatever_the_form(make_workflow, publish, operator, api):
    workflow = make_workflow()
    publish(workflow, small_definition())
    queued = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x"})
    response = api(operator).post(f"/api/runs/{queued.pk}/finalize/", {"label": "", "annotation": ""}, format="json")
    assert response.status_code == 409


def test_cancelling_a_reproduction_closes_its_check(make_workflow, publish, operator):
    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow)
    run = services.reproduce_record(actor=operator, record=record)
    services.cancel_run(actor=operator, run=run)
    check = ReproductionCheck.objects.get(run=run)
    assert check.verdict == "failed" and check.note == "cancelled"
