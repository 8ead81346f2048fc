"""Rules that used to be written twice and now have one owner: what every caller of the
rule shows must agree (drift of a pin, workflow search, the direction tree), and each
path through the rule behaves the same (cancelling, logging pointer moves, the upload cap)."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.errors import ValidationFailed
from runs_app import services
from runs_app.models import ReproductionCheck, Run, RunStatus, StepStatus, Verdict
from runs_app.storage import MAX_UPLOAD_BYTES, read_upload
from templates_app import services as template_services
from templates_app.models import PointerMove
from tests.helpers import finished_record, small_definition

pytestmark = pytest.mark.django_db


@pytest.fixture
def workflow(make_workflow, publish):
    return publish(make_workflow(), small_definition()).workflow


@pytest.fixture
def pinned(workflow, operator, manager):
    """The workflow in production mode, pinned from an approved record."""
    record = finished_record(operator, workflow)
    services.approve_record(actor=manager, record=record)
    services.set_workflow_mode(
        actor=operator, workflow=workflow, mode="production", pin_record=record, reason="client signed off"
    )
    return workflow, record


def _page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_the_drift_of_a_pin_reads_the_same_everywhere(pinned, operator, admin_user, api):
    workflow, _record = pinned
    assert api(operator).get(f"/api/workflows/{workflow.slug}/").json()["drift_warnings"] == []
    assert "Model drift" not in _page(operator, f"/workflows/{workflow.slug}/")

    template_services.add_model_snapshot(
        actor=admin_user, family="local/plasma", snapshot="2026-11-01", make_default=True
    )
    warnings = api(operator).get(f"/api/workflows/{workflow.slug}/").json()["drift_warnings"]
    assert [(w["step"], w["recorded"], w["current"]) for w in warnings] == [
        ("background", "local/plasma@2026-06-15", "local/plasma@2026-11-01")
    ]
    message = warnings[0]["message"].replace("'", "&#x27;")
    for url in (f"/workflows/{workflow.slug}/", f"/workflows/{workflow.slug}/run/", "/"):
        assert message in _page(operator, url), url
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"})
    assert run.drift_warnings == warnings


def test_mode_and_pin_moves_are_logged_with_who_and_why(pinned, operator):
    workflow, record = pinned
    moves = {
        m.pointer: m for m in PointerMove.objects.filter(workflow=workflow, pointer__in=["mode", "production_pin"])
    }
    assert (moves["mode"].from_value, moves["mode"].to_value) == ("discovery", "production")
    assert (moves["production_pin"].from_value, moves["production_pin"].to_value) == ("", str(record.pk))
    assert {m.actor for m in moves.values()} == {operator}
    assert {m.reason for m in moves.values()} == {"client signed off"}


def test_production_without_a_pin_is_refused_the_same_way_on_both_paths(workflow, operator):
    with pytest.raises(ValidationFailed) as switching:
        services.set_workflow_mode(actor=operator, workflow=workflow, mode="production")
    with pytest.raises(ValidationFailed) as running:
        services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"}, mode="production")
    assert switching.value.code == running.value.code == "pin_required"
    assert Run.objects.count() == 0 and not PointerMove.objects.filter(pointer="mode").exists()


def test_cancelling_a_queued_reproduction_ends_its_steps_and_fails_its_check(workflow, operator, api):
    record = finished_record(operator, workflow)
    run = services.reproduce_record(actor=operator, record=record)
    cancelled = api(operator).post(f"/api/runs/{run.pk}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    run = Run.objects.get(pk=run.pk)
    assert run.status == RunStatus.CANCELLED and run.finished_at is not None and run.cancel_requested
    assert set(run.steps.values_list("status", flat=True)) == {StepStatus.CANCELLED}
    check = ReproductionCheck.objects.get(run=run)
    assert (check.verdict, check.note) == (Verdict.FAILED, "cancelled") and check.completed_at is not None


def test_workflow_search_finds_the_same_workflows_on_the_page_and_in_the_api(make_workflow, operator, api):
    make_workflow("autumn-hero", "Hero images")
    make_workflow("spring-banner", "Banner")
    template_services.update_workflow(
        actor=operator, workflow=make_workflow("winter-misc", "Misc"), description="a HERO for winter"
    )
    answer = api(operator).get("/api/workflows/?q=hero").json()["results"]
    assert sorted(w["slug"] for w in answer) == ["autumn-hero", "winter-misc"]
    library = _page(operator, "/workflows/?q=hero")
    assert "autumn-hero" in library and "winter-misc" in library and "spring-banner" not in library


def test_the_direction_tree_of_the_api_matches_the_library(workflow, operator, api):
    for slug, label in [("campaign-a-warm", "Warm"), ("campaign-a-cool", "Cool")]:
        template_services.derive_direction(actor=operator, base=workflow, slug=slug, name=label, direction_label=label)
    tree = api(operator).get("/api/workflows/campaign-a-cool/tree/").json()
    assert tree["slug"] == "campaign-a" and [c["slug"] for c in tree["children"]] == [
        "campaign-a-cool",
        "campaign-a-warm",
    ]
    drawn = re.findall(r'<g class="node [a-z]+" transform', _page(operator, "/workflows/"))
    assert len(drawn) == 3


class _Lying(SimpleUploadedFile):
    """An upload that declares one size and must not be read at all."""

    def read(self, *args, **kwargs):  # pragma: no cover - reaching it fails the test
        raise AssertionError("an upload declared over the limit was read")


def test_an_upload_declared_over_the_limit_is_refused_before_reading():
    upload = _Lying("big.png", b"x")
    upload.size = MAX_UPLOAD_BYTES + 1
    with pytest.raises(ValidationFailed) as refused:
        read_upload(upload)
    assert refused.value.code == "file_too_large"


def test_an_upload_is_read_only_to_one_byte_past_the_limit(operator):
    upload = SimpleUploadedFile("big.png", b"x" * (MAX_UPLOAD_BYTES + 100))
    upload.size = 10  # under-declared: the read bound still holds, and the size rule refuses it
    data = read_upload(upload)
    assert len(data) == MAX_UPLOAD_BYTES + 1
    with pytest.raises(ValidationFailed) as refused:
        services.upload_artifact(actor=operator, data=data)
    assert refused.value.code == "file_too_large"
