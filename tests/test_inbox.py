"""A manager's inbox on the dashboard: records awaiting approval (approved from there, with htmx),
directions awaiting a decision, versions published but not canonical, and drift under production
pins. Each section shows its item when the situation exists and nothing otherwise; operators keep
their dashboard; the page costs the same number of queries with 1 item per section as with 20."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from runs_app import services as runs
from runs_app.models import VersionRecord
from templates_app import services as templates
from templates_app.catalogue import Catalogue
from templates_app.models import Workflow
from tests.helpers import finished_record, promote_with_evidence, small_definition

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_manager(manager) -> Client:
    return client_for(manager)


@pytest.fixture
def as_operator(operator) -> Client:
    return client_for(operator)


@pytest.fixture
def campaign(make_workflow, publish) -> Workflow:
    workflow = make_workflow("campaign", "Campaign")
    publish(workflow, small_definition())
    return workflow


SECTIONS = ("records", "directions", "versions", "drift")


def section(html: str, name: str) -> str:
    """The HTML of one inbox section (data-testid="inbox-<name>"), up to the next one."""
    start = html.index(f'data-testid="inbox-{name}"')
    after = [i for other in SECTIONS if (i := html.find(f'data-testid="inbox-{other}"', start + 1)) != -1]
    return html[start : min(after)] if after else html[start:]


def items(html: str, name: str) -> int:
    """How many items a section lists (an empty inbox has no sections: none)."""
    if f'data-testid="inbox-{name}"' not in html:
        return 0
    return section(html, name).count('data-testid="inbox-item"')


def dashboard(client: Client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


# --- records awaiting approval ----------------------------------------------------------------


def test_the_inbox_lists_a_record_awaiting_approval_and_approving_it_there_removes_it(
    as_manager, manager, operator, campaign
):
    record = finished_record(operator, campaign, label="warm fox")
    page = dashboard(as_manager)
    records = section(page, "records")
    assert items(page, "records") == 1 and record.label in records
    assert f'hx-post="/inbox/records/{record.pk}/approve/"' in records

    answer = as_manager.post(f"/inbox/records/{record.pk}/approve/", **HTMX)

    assert answer.status_code == 200
    assert "hx-request" in answer["Vary"].lower()
    fragment = answer.content.decode()
    assert "<html" not in fragment and 'id="inbox"' in fragment  # the inbox alone, which htmx swaps in
    assert f"{record.label} approved." in fragment
    approved = fragment[fragment.index('id="recently-approved" hx-swap-oob="true"') :]
    assert record.label in approved  # the list of approved records below the inbox follows
    assert items(fragment, "records") == 0 and 'data-testid="inbox-empty"' in fragment  # it was all there was
    record.refresh_from_db()
    assert record.is_approved and record.approved_by == manager
    assert items(dashboard(as_manager), "records") == 0


def test_approving_from_the_inbox_without_script_goes_back_to_the_dashboard(as_manager, operator, campaign):
    record = finished_record(operator, campaign)
    answer = as_manager.post(f"/inbox/records/{record.pk}/approve/", follow=True)
    assert answer.redirect_chain == [("/", 302)]
    assert f"{record.label} approved." in answer.content.decode()
    assert VersionRecord.objects.get(pk=record.pk).is_approved


def test_a_record_a_colleague_approved_meanwhile_leaves_the_inbox_with_a_word(
    as_manager, admin_user, operator, campaign
):
    record = finished_record(operator, campaign)
    runs.approve_record(actor=admin_user, record=record)
    answer = as_manager.post(f"/inbox/records/{record.pk}/approve/", **HTMX)
    assert answer.status_code == 200
    fragment = answer.content.decode()
    assert "was already approved" in fragment
    assert items(fragment, "records") == 0
    assert VersionRecord.objects.get(pk=record.pk).approved_by == admin_user  # the first approval stays


def test_operators_keep_their_dashboard_and_may_not_approve_from_the_inbox(as_operator, operator, campaign):
    record = finished_record(operator, campaign)
    page = dashboard(as_operator)
    assert 'id="inbox"' not in page
    assert "Waiting for your annotation" in page and "My recent runs" in page
    assert as_operator.post(f"/inbox/records/{record.pk}/approve/", **HTMX).status_code == 403
    assert as_operator.post(f"/inbox/records/{record.pk}/approve/").status_code == 403
    assert not VersionRecord.objects.get(pk=record.pk).is_approved


def test_admins_have_the_inbox_too(admin_user, operator, campaign):
    record = finished_record(operator, campaign)
    page = dashboard(client_for(admin_user))
    assert items(page, "records") == 1 and record.label in section(page, "records")


def test_an_archived_workflow_waits_for_nobody(as_manager, operator, admin_user, campaign):
    finished_record(operator, campaign)
    assert items(dashboard(as_manager), "records") == 1
    templates.archive_workflow(actor=admin_user, workflow=campaign, reason="the campaign is over")
    assert 'data-testid="inbox-empty"' in dashboard(as_manager)  # nothing runs or pins until it is resurrected


def test_an_empty_inbox_says_so(as_manager, campaign):
    page = dashboard(as_manager)
    assert 'data-testid="inbox-empty"' in page
    assert "Nothing waits for your decision" in page
    assert "Waiting for your annotation" in page  # the operator's part of the dashboard stays below


# --- directions awaiting a decision ------------------------------------------------------------


def test_directions_awaiting_a_decision_link_to_the_bases_page_until_one_is_approved(
    as_manager, manager, operator, campaign, publish
):
    assert items(dashboard(as_manager), "directions") == 0
    warm = templates.derive_direction(
        actor=operator, base=campaign, slug="campaign-warm", name="Warm", direction_label="Warm"
    )
    templates.derive_direction(actor=operator, base=campaign, slug="campaign-cool", name="Cool", direction_label="Cool")
    # Not published yet: no direction can be approved, so nothing waits for a manager.
    assert items(dashboard(as_manager), "directions") == 0

    publish(warm, small_definition(prompt="{{inputs.subject}}, warm"))
    page = dashboard(as_manager)
    directions = section(page, "directions")
    assert items(page, "directions") == 1
    assert 'href="/workflows/campaign/#directions"' in directions
    assert "Cool, Warm" in directions

    templates.approve_direction(actor=manager, workflow=warm)
    assert items(dashboard(as_manager), "directions") == 0


# --- versions published but not canonical -------------------------------------------------------


def test_a_version_newer_than_canonical_links_to_the_workflows_versions_until_promoted(
    as_manager, manager, campaign, publish
):
    assert items(dashboard(as_manager), "versions") == 0
    newer = publish(campaign, small_definition(prompt="{{inputs.subject}}, cooler"))
    publish(campaign, small_definition(prompt="{{inputs.subject}}, in the shadows"), channel="shadow")
    page = dashboard(as_manager)
    versions = section(page, "versions")
    assert items(page, "versions") == 1
    assert newer.version in versions and campaign.canonical_version.version in versions
    assert 'href="/workflows/campaign/#versions"' in versions
    assert "and 1 more" not in versions  # the shadow version never becomes canonical: not counted

    promote_with_evidence(manager, newer)
    assert items(dashboard(as_manager), "versions") == 0


# --- drift under production pins ----------------------------------------------------------------


def pin_in_production(workflow: Workflow, operator: Any, manager: Any) -> VersionRecord:
    record = finished_record(operator, workflow, label="keeper")
    runs.approve_record(actor=manager, record=record)
    runs.set_workflow_mode(actor=operator, workflow=workflow, mode="production", pin_record=record, reason="go")
    return record


def test_drift_under_a_production_pin_links_to_the_workflow(as_manager, manager, operator, admin_user, campaign):
    pin_in_production(campaign, operator, manager)
    assert items(dashboard(as_manager), "drift") == 0  # pinned with today's snapshots: no drift

    templates.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-11-01", make_default=True)
    Catalogue.forget()
    page = dashboard(as_manager)
    drift = section(page, "drift")
    assert items(page, "drift") == 1
    assert 'href="/workflows/campaign/"' in drift
    assert "local/plasma@2026-11-01" in drift  # what the pinned step would resolve to today

    runs.set_workflow_mode(actor=operator, workflow=campaign, mode="discovery", reason="back to exploring")
    assert items(dashboard(as_manager), "drift") == 0  # no production run uses that pin any more


# --- queries ------------------------------------------------------------------------------------


def add_situations(start: int, count: int, *, operator: Any, manager: Any, make_workflow: Any, publish: Any) -> None:
    """`count` more items in each of the four sections."""
    for i in range(start, start + count):
        workflow = make_workflow(f"job-{i}", f"Job {i}")
        publish(workflow, small_definition())
        pin_in_production(workflow, operator, manager)  # drift, once the default moves
        finished_record(operator, workflow, label=f"take {i}")  # a record awaiting approval
        publish(workflow, small_definition(prompt="{{inputs.subject}}, newer"))  # a version ahead of canonical
        direction = templates.derive_direction(
            actor=operator, base=workflow, slug=f"job-{i}-bold", name=f"Bold {i}", direction_label="Bold"
        )
        publish(direction, small_definition(prompt="{{inputs.subject}}, bold"))  # a direction to decide on


def dashboard_queries(client: Client) -> tuple[int, str]:
    Catalogue.forget()
    ContentType.objects.clear_cache()
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        page = dashboard(client)
    return len(queries), page


def test_the_inbox_costs_the_same_queries_with_1_and_with_20_items_per_section(
    as_manager, manager, operator, admin_user, make_workflow, publish
):
    situations = {"operator": operator, "manager": manager, "make_workflow": make_workflow, "publish": publish}
    add_situations(0, 1, **situations)
    templates.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-11-02", make_default=True)
    one, page = dashboard_queries(as_manager)
    assert [items(page, name) for name in SECTIONS] == [1, 1, 1, 1]

    add_situations(1, 19, **situations)
    templates.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-11-03", make_default=True)
    twenty, page = dashboard_queries(as_manager)
    assert [items(page, name) for name in SECTIONS] == [20, 20, 20, 20]
    assert twenty == one


def test_newer_versions_are_listed_by_their_numbers_not_as_text():
    from composition.inbox import _version_order

    assert sorted(["2026.11.29.9", "2026.11.29.10", "2026.11.28.11"], key=_version_order, reverse=True) == [
        "2026.11.29.10",
        "2026.11.29.9",
        "2026.11.28.11",
    ]
