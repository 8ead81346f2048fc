"""Model-change impact and reproduction with the recorded snapshots (issue 14, items 7 and 8).

Before an admin retires a snapshot or moves a family's default, the impact (API, catalogue page,
and the answers of `retire` and `default`) lists the workflows floating on it, the versions and
production pins naming it, the records and approved records made with it and the runs in flight,
every count exact. Admins move the default back and restore a retired snapshot; both land in the
pointer history. A record made with a snapshot that is still available reproduces exactly with it
after a newer default appears; only retiring it (or a changed external environment) asks for the
drift choice. The audit re-checks every approved record after a default change."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from runs_app import services as runs
from runs_app import spec
from runs_app.impact import snapshot_impact
from runs_app.models import ReproductionCheck, Run
from templates_app import services as templates
from templates_app.models import ModelSnapshot, Pointer, PointerMove, WorkflowVersion
from tests.helpers import finished_record, run_now, small_definition

pytestmark = pytest.mark.django_db

PLASMA = "local/plasma@2026-06-15"  # local/plasma's default snapshot in the seeded catalogue
IMPACT_URL = "/api/models/local/plasma@2026-06-15/impact/"


def snapshot(ref: str) -> ModelSnapshot:
    family, date = ref.split("@")
    return ModelSnapshot.objects.select_related("family").get(family__name=family, snapshot=date)


def pinned_definition() -> dict:
    d = small_definition()
    d["steps"][0]["model"] = PLASMA
    return d


@pytest.fixture
def world(make_workflow, publish, operator, manager):
    """Two workflows floating on local/plasma, one version pinning local/plasma@2026-06-15, a
    production pin holding it, five records made with it (two approved) and one run in flight;
    and what must not count: a workflow on another family, and a version pinning an older snapshot."""
    floating_a, floating_b = make_workflow("floating-a", "A"), make_workflow("floating-b", "B")
    publish(floating_a, small_definition())
    publish(floating_b, small_definition())
    pinning = make_workflow("pinning", "Pinning")
    publish(pinning, pinned_definition())
    elsewhere = make_workflow("elsewhere", "Elsewhere")
    other_family = small_definition()
    other_family["steps"][0]["model"] = "local/aurora"
    publish(elsewhere, other_family)
    older = small_definition()
    older["steps"][0]["model"] = "local/plasma@2026-04-21"
    publish(make_workflow("older", "Older"), older)

    records = [finished_record(operator, floating_a, inputs={"subject": f"fox {i}"}) for i in range(3)]
    records.append(finished_record(operator, floating_b))
    records.append(finished_record(operator, pinning))
    finished_record(operator, elsewhere)  # made with local/aurora: not counted
    runs.approve_record(actor=manager, record=records[0])
    runs.approve_record(actor=manager, record=records[4])
    runs.set_workflow_mode(actor=operator, workflow=floating_a, mode="production", pin_record=records[0])
    in_flight = runs.start_run(actor=operator, workflow=floating_b, inputs={"subject": "owl"})  # queued, not run
    runs.start_run(actor=operator, workflow=elsewhere, inputs={"subject": "owl"})  # on local/aurora: not counted
    return {"records": records, "in_flight": in_flight}


EXPECTED = {
    "family": "local/plasma",
    "snapshot": "2026-06-15",
    "is_default": True,
    "status": "available",
    "floating_workflows": ["floating-a", "floating-b"],
    "pinned_workflows": ["pinning"],
    "pinned_versions": [{"workflow": "pinning", "version": None, "is_canonical": True}],
    "production_pins": ["floating-a"],
    "records": 5,
    "approved_records": 2,
    "runs_in_flight": 1,
}


def expected_impact() -> dict:
    pinned = WorkflowVersion.objects.get(workflow__slug="pinning")  # its version string is today's date
    return {**EXPECTED, "pinned_versions": [{"workflow": "pinning", "version": pinned.version, "is_canonical": True}]}


def test_the_impact_of_a_snapshot_counts_everything_it_touches(world, manager, operator, api):
    answer = api(manager).get(IMPACT_URL)
    assert answer.status_code == 200, answer.content
    assert answer.json() == expected_impact()
    assert api(operator).get(IMPACT_URL).status_code == 403  # manager and up
    # Not the default: nothing floats on it, and it pins nothing here.
    older = api(manager).get("/api/models/local/plasma@2026-04-21/impact/").json()
    assert older["floating_workflows"] == [] and older["pinned_workflows"] == ["older"] and older["records"] == 0


def test_the_impact_costs_the_same_queries_whatever_it_counts(world, operator, make_workflow, publish):
    snap = snapshot(PLASMA)
    with CaptureQueriesContext(connection) as before:
        snapshot_impact(snap)
    more = make_workflow("floating-c", "C")
    publish(more, small_definition())
    for i in range(3):
        finished_record(operator, more, inputs={"subject": f"hare {i}"})
    runs.start_run(actor=operator, workflow=more, inputs={"subject": "owl"})
    with CaptureQueriesContext(connection) as after:
        grown = snapshot_impact(snap)
    assert grown.records == 8 and grown.runs_in_flight == 2 and "floating-c" in grown.floating_workflows
    assert len(before.captured_queries) == len(after.captured_queries) == 5


def test_retire_answers_the_same_impact_and_restore_is_logged(world, admin_user, manager, api):
    before = api(manager).get(IMPACT_URL).json()
    retired = api(admin_user).post("/api/models/local/plasma@2026-06-15/retire/", {"reason": "bad hands"}, "json")
    assert retired.status_code == 200, retired.content
    assert retired.json()["status"] == "retired" and retired.json()["impact"] == before == expected_impact()
    # The default moved to the newest other available snapshot; the floating workflows follow it.
    assert snapshot("local/plasma@2026-04-21").family.default_snapshot.snapshot == "2026-04-21"

    restored = api(admin_user).post("/api/models/local/plasma@2026-06-15/restore/", {"reason": "fixed"}, "json")
    assert restored.status_code == 200 and restored.json()["status"] == "available"
    assert restored.json()["is_default"] is False  # the default stays where it is until an admin moves it
    assert api(admin_user).post("/api/models/local/plasma@2026-06-15/restore/", {}, "json").json()["code"] == (
        "not_retired"
    )
    moves = list(
        PointerMove.objects.filter(model_family__name="local/plasma", pointer=Pointer.SNAPSHOT_STATUS)
        .order_by("at", "id")
        .values_list("from_value", "to_value", "reason", "actor__username")
    )
    assert moves == [
        ("2026-06-15 available", "2026-06-15 retired", "bad hands", admin_user.username),
        ("2026-06-15 retired", "2026-06-15 available", "fixed", admin_user.username),
    ]


def test_a_default_change_answers_the_impact_and_moving_it_back_is_logged(world, admin_user, manager, api):
    templates.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-11-01")
    before = api(manager).get(IMPACT_URL).json()
    moved = api(admin_user).post("/api/models/local/plasma@2026-11-01/default/", {"reason": "sharper"}, "json")
    assert moved.status_code == 200, moved.content
    body = moved.json()
    assert body["is_default"] is True and body["previous_default"] == "2026-06-15"
    assert body["impact"] == before  # what floated on the old default moves with it
    assert api(manager).post("/api/models/local/plasma@2026-11-01/default/", {}, "json").status_code == 403

    back = api(admin_user).post("/api/models/local/plasma@2026-06-15/default/", {"reason": "clients liked it"}, "json")
    assert back.status_code == 200 and back.json()["previous_default"] == "2026-11-01"
    assert back.json()["impact"]["snapshot"] == "2026-11-01" and back.json()["impact"]["records"] == 0
    again = api(admin_user).post("/api/models/local/plasma@2026-06-15/default/", {}, "json")
    assert again.status_code == 409 and again.json()["code"] == "already_default"
    moves = list(
        PointerMove.objects.filter(model_family__name="local/plasma", pointer=Pointer.DEFAULT_SNAPSHOT)
        .order_by("at", "id")
        .values_list("from_value", "to_value", "reason")
    )
    assert moves[-2:] == [("2026-06-15", "2026-11-01", "sharper"), ("2026-11-01", "2026-06-15", "clients liked it")]


def test_a_retired_snapshot_cannot_become_the_default_until_restored(admin_user, api):
    templates.retire_model_snapshot(actor=admin_user, snapshot=snapshot("local/plasma@2026-04-21"))
    refused = api(admin_user).post("/api/models/local/plasma@2026-04-21/default/", {}, "json")
    assert refused.status_code == 409 and refused.json()["code"] == "snapshot_retired"


def test_the_catalogue_page_confirms_a_change_with_its_impact(world, admin_user, manager, operator):
    browser = Client()
    browser.force_login(admin_user)
    listing = browser.get("/models/").content.decode()
    assert "local/plasma" in listing and 'data-testid="default-badge"' in listing
    confirm = browser.get("/models/local/plasma@2026-06-15/?action=retire").content.decode()
    assert "floating-a</a>, <a" in confirm and 'data-testid="impact-records"' in confirm
    assert ">5</a>" in confirm and 'data-testid="confirm-button"' in confirm
    done = browser.post("/models/local/plasma@2026-06-15/retire/", {"reason": "bad hands"})
    assert done.status_code == 302 and snapshot(PLASMA).is_retired
    history = browser.get("/models/").content.decode()
    assert "bad hands" in history and "2026-06-15 retired" in history
    # A default change confirms with the impact of today's default: what floats on it moves.
    templates.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-11-01")
    change = browser.get("/models/local/plasma@2026-11-01/?action=default").content.decode()
    assert 'data-testid="impact-intro"' in change and "local/plasma@2026-04-21" in change

    as_manager = Client()
    as_manager.force_login(manager)
    seen = as_manager.get("/models/local/plasma@2026-04-21/?action=retire").content.decode()
    assert 'data-testid="impact"' in seen and 'data-testid="confirm-button"' not in seen  # admins change it
    assert as_manager.post("/models/local/plasma@2026-04-21/retire/", {}).status_code == 403
    as_operator = Client()
    as_operator.force_login(operator)
    assert as_operator.get("/models/").status_code == 200
    assert as_operator.get("/models/local/plasma@2026-04-21/").status_code == 403


def test_the_admin_action_goes_through_the_confirmation(admin_user):
    browser = Client()
    browser.force_login(admin_user)
    snap = snapshot(PLASMA)
    answer = browser.post("/admin/templates_app/modelsnapshot/", {"action": "retire", "_selected_action": [snap.pk]})
    assert answer.status_code == 302 and answer["Location"] == "/models/local/plasma@2026-06-15/?action=retire"
    assert not snapshot(PLASMA).is_retired  # nothing changed before the confirmation


# --- reproduction with the recorded snapshots ---------------------------------------------------


def test_a_newer_default_reproduces_exactly_and_only_retiring_asks_for_the_choice(
    make_workflow, publish, operator, admin_user, api
):
    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow)
    assert record.step_models["background"] == PLASMA
    templates.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-11-01")
    api(admin_user).post("/api/models/local/plasma@2026-11-01/default/", {}, "json")

    again = api(operator).post(f"/api/records/{record.pk}/reproduce/", {}, format="json")
    assert again.status_code == 202, again.content  # no 409: the recorded snapshot still runs
    run = run_now(Run.objects.get(pk=again.json()["id"]))
    assert run.steps.get(step_id="background").model == PLASMA
    check = ReproductionCheck.objects.get(run=run)
    assert check.verdict == "exact" and check.scores["hero"]["identical"] is True and not check.drift_accepted

    api(admin_user).post("/api/models/local/plasma@2026-06-15/retire/", {}, "json")
    refused = api(operator).post(f"/api/records/{record.pk}/reproduce/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "model_drift"
    assert refused.json()["errors"][0]["path"] == "background"
    flagged = api(operator).post(f"/api/records/{record.pk}/flag-legacy/", {"reason": "needs June"}, format="json")
    assert flagged.json()["legacy_required"] is True and flagged.json()["checks"][0]["verdict"] == "legacy_required"
    # Restored, it reproduces exactly again.
    api(admin_user).post("/api/models/local/plasma@2026-06-15/restore/", {}, "json")
    restored = run_now(runs.reproduce_record(actor=operator, record=record))
    assert ReproductionCheck.objects.get(run=restored).verdict == "exact"


def test_a_changed_external_environment_asks_for_the_drift_choice(make_workflow, publish, operator, monkeypatch, api):
    """The hook a fingerprinted provider (ComfyUI) fills: its snapshot is still available, but the
    environment differs from what was recorded, so reproducing asks like a retired snapshot."""
    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow)

    def changed(step_id: str, recorded: str, catalogue) -> dict[str, str] | None:
        if recorded != PLASMA:
            return None
        return {
            "step": step_id,
            "recorded": recorded,
            "current": recorded,
            "reason": spec.ENVIRONMENT_CHANGED,
            "message": f"Step '{step_id}': the server's nodes changed since {recorded} was captured.",
        }

    monkeypatch.setattr(spec, "ENVIRONMENT_CHECKS", [changed])
    refused = api(operator).post(f"/api/records/{record.pk}/reproduce/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "model_drift"
    accepted = api(operator).post(f"/api/records/{record.pk}/reproduce/", {"accept_model_drift": True}, "json")
    assert accepted.status_code == 202
    check = ReproductionCheck.objects.get(run_id=accepted.json()["id"])
    assert check.drift_accepted and check.note == "model differs; outputs may differ"


@pytest.mark.django_db(transaction=True)
def test_the_audit_after_a_default_change_reports_every_approved_record_exact(
    make_workflow, publish, operator, manager, admin_user, start_worker, capsys
):
    workflow = make_workflow()
    publish(workflow, small_definition())
    approved = [finished_record(operator, workflow, inputs={"subject": f"fox {i}"}, label=f"k{i}") for i in range(2)]
    for record in approved:
        runs.approve_record(actor=manager, record=record)
    finished_record(operator, workflow, label="not approved")
    templates.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-11-01")
    templates.set_default_snapshot(actor=admin_user, snapshot=snapshot("local/plasma@2026-11-01"))

    start_worker()  # only now: the records above were made in this process
    call_command("audit_reproducibility", "--as", operator.username, "--wait", "90")
    out = capsys.readouterr().out
    assert "2 reproduction(s) started, 0 problem(s)." in out
    assert out.count(": exact (hero identical pixels)") == 2 and "v3-not-approved" not in out
    checks = ReproductionCheck.objects.filter(record__in=approved)
    assert sorted(c.verdict for c in checks) == ["exact", "exact"]
    assert {s for c in checks for s in c.run.steps.filter(step_id="background").values_list("model", flat=True)} == {
        PLASMA
    }
