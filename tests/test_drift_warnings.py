"""Model drift warnings (DESIGN §5) on the workflow page and the run form: a production pin
names a snapshot that is no longer what its step resolves to — a newer default, or a
retired snapshot — and both pages say so, step by step; no drift, no warning."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from runs_app import services as runs
from templates_app import services as templates
from templates_app.models import ModelSnapshot
from tests.helpers import finished_record, small_definition

pytestmark = pytest.mark.django_db


def in_production(workflow, operator, manager):
    record = finished_record(operator, workflow)
    runs.approve_record(actor=manager, record=record)
    runs.set_workflow_mode(actor=operator, workflow=workflow, mode="production", pin_record=record)
    return record


def warnings_on(client: Client, url: str) -> list[str]:
    """The lines of the page's drift warning box, unescaped; [] when the page shows none."""
    response = client.get(url)
    assert response.status_code == 200, url
    box = re.search(r"data-testid=\"drift\">(.*?</div>)</div>", response.content.decode(), re.S)
    return [html.unescape(line) for line in re.findall(r"<div>(.*?)</div>", box.group(1))] if box else []


@pytest.fixture
def page(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def test_no_drift_no_warning(make_workflow, publish, operator, manager, page):
    workflow = make_workflow()
    publish(workflow, small_definition())
    in_production(workflow, operator, manager)
    assert warnings_on(page, f"/workflows/{workflow.slug}/") == []
    assert warnings_on(page, f"/workflows/{workflow.slug}/run/") == []


def test_a_newer_default_snapshot_is_shown_on_the_workflow_page_and_the_run_form(
    make_workflow, publish, operator, manager, admin_user, page, django_capture_on_commit_callbacks
):
    workflow = make_workflow()
    publish(workflow, small_definition())  # the background step floats on local/plasma's default
    in_production(workflow, operator, manager)
    with django_capture_on_commit_callbacks(execute=True):
        templates.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-11-01", make_default=True)
    expected = "Step 'background' was made with local/plasma@2026-06-15; today it resolves to local/plasma@2026-11-01."
    assert warnings_on(page, f"/workflows/{workflow.slug}/") == [expected]
    assert warnings_on(page, f"/workflows/{workflow.slug}/run/") == [
        expected,
        "The run uses today's snapshot; its output may differ from the pinned record.",
    ]


def test_a_retired_snapshot_is_shown_on_the_workflow_page_and_the_run_form(
    make_workflow, publish, operator, manager, admin_user, page, django_capture_on_commit_callbacks
):
    workflow = make_workflow()
    d = small_definition()
    d["steps"][0]["model"] = "local/plasma@2026-04-21"  # pinned in the definition itself
    publish(workflow, d)
    in_production(workflow, operator, manager)
    april = ModelSnapshot.objects.get(family__name="local/plasma", snapshot="2026-04-21")
    with django_capture_on_commit_callbacks(execute=True):
        templates.retire_model_snapshot(actor=admin_user, snapshot=april)
    on_workflow = warnings_on(page, f"/workflows/{workflow.slug}/")
    on_form = warnings_on(page, f"/workflows/{workflow.slug}/run/")
    assert len(on_workflow) == 1 and on_form[:1] == on_workflow
    assert on_workflow[0].startswith("Step 'background' was made with local/plasma@2026-04-21, which is retired;")


def test_discovery_runs_carry_no_pin_and_so_no_warning_on_the_form(
    make_workflow, publish, operator, admin_user, page, django_capture_on_commit_callbacks
):
    workflow = make_workflow()
    publish(workflow, small_definition())
    finished_record(operator, workflow)
    with django_capture_on_commit_callbacks(execute=True):
        templates.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-11-01", make_default=True)
    assert warnings_on(page, f"/workflows/{workflow.slug}/") == []
    assert warnings_on(page, f"/workflows/{workflow.slug}/run/") == []
