"""The pointer history: every move of a workflow's mode, production pin, a version's channel
or visibility leaves one row saying who moved what, from what, to what and why; the
history endpoint shows it; a refused move leaves nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from core.errors import Conflict, ValidationFailed
from runs_app import services as runs
from templates_app import services as templates
from templates_app.models import Pointer, PointerMove
from tests.helpers import finished_record, small_definition

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(make_workflow, publish, operator, manager):
    workflow = make_workflow()
    publish(workflow, small_definition())
    records = [finished_record(operator, workflow, inputs={"subject": s}, label=s) for s in ("fox", "hare")]
    for record in records:
        runs.approve_record(actor=manager, record=record)
    return {"workflow": workflow, "records": records}


def moves_since(before: int, **lookup: Any) -> list[tuple[str, str, str, str, str]]:
    """(pointer, from, to, reason, actor) of the moves logged after id `before`, oldest first."""
    rows = PointerMove.objects.filter(id__gt=before, **lookup).order_by("id").select_related("actor")
    return [(m.pointer, m.from_value, m.to_value, m.reason, m.actor.username if m.actor else "") for m in rows]


def last_id() -> int:
    return PointerMove.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_mode_and_pin_moves_are_logged_with_who_from_to_and_why(campaign, operator):
    workflow, (fox, hare) = campaign["workflow"], campaign["records"]
    page = Client()
    page.force_login(operator)
    start = last_id()
    url = f"/workflows/{workflow.slug}/do/mode/"
    page.post(url, {"mode": "production", "pin_record": str(fox.pk), "reason": "launch day"})
    page.post(url, {"mode": "production", "pin_record": str(hare.pk), "reason": "client chose the hare"})
    page.post(url, {"mode": "discovery", "reason": "new season"})
    who = operator.username
    assert moves_since(start, workflow=workflow) == [
        (Pointer.PRODUCTION_PIN, "", str(fox.pk), "launch day", who),
        (Pointer.MODE, "discovery", "production", "launch day", who),
        (Pointer.PRODUCTION_PIN, str(fox.pk), str(hare.pk), "client chose the hare", who),
        (Pointer.MODE, "production", "discovery", "new season", who),
    ]


def test_a_pin_without_a_reason_says_which_record(campaign, operator):
    workflow, fox = campaign["workflow"], campaign["records"][0]
    start = last_id()
    runs.set_workflow_mode(actor=operator, workflow=workflow, mode="production", pin_record=fox)
    pin, mode = moves_since(start, workflow=workflow)
    assert pin == (Pointer.PRODUCTION_PIN, "", str(fox.pk), f"pinned {fox.label}", operator.username)
    assert mode == (Pointer.MODE, "discovery", "production", "", operator.username)


def test_channel_and_visibility_moves_are_logged_and_listed(make_workflow, publish, manager, operator, api):
    workflow = make_workflow()
    publish(workflow, small_definition())
    second = publish(workflow, small_definition(prompt="{{inputs.subject}}, night"), channel="alternate")
    client = api(manager)
    base = f"/api/workflows/{workflow.slug}/versions/{second.version}"
    start = last_id()
    assert (
        client.post(f"{base}/channel/", {"channel": "standard", "reason": "A/B over"}, format="json").status_code == 200
    )
    shown = client.post(f"{base}/visibility/", {"visibility": "public", "reason": "press kit"}, format="json")
    assert shown.status_code == 200
    assert moves_since(start, version=second) == [
        (Pointer.CHANNEL, "alternate", "standard", "A/B over", manager.username),
        (Pointer.VISIBILITY, "internal", "public", "press kit", manager.username),
    ]
    history = api(operator).get(f"/api/workflows/{workflow.slug}/history/").json()["results"]
    listed = [(h["pointer"], h["version"], h["from_value"], h["to"], h["reason"], h["actor"]) for h in history[:2]]
    assert listed == [
        ("visibility", second.version, "internal", "public", "press kit", manager.username),
        ("channel", second.version, "alternate", "standard", "A/B over", manager.username),
    ]


def test_refused_moves_log_nothing(campaign, operator, manager):
    workflow = campaign["workflow"]
    version = workflow.canonical_version
    templates.raise_visibility(actor=manager, version=version, visibility="public")
    start = last_id()
    with pytest.raises(Conflict):
        templates.raise_visibility(actor=manager, version=version, visibility="public")
    with pytest.raises(Conflict):
        templates.set_channel(actor=manager, version=version, channel=version.channel)
    with pytest.raises(ValidationFailed) as refused:
        runs.set_workflow_mode(actor=operator, workflow=workflow, mode="production")
    assert refused.value.problems[0].code == "pin_required"
    runs.set_workflow_mode(actor=operator, workflow=workflow, mode="discovery")  # already: nothing moves
    assert moves_since(start) == []
