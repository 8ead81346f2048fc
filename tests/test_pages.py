"""Every page for every role (Django's test client) and the annotation gate that
no crafted POST gets around. Query counts of every page: tests/test_query_counts.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from runs_app import services
from runs_app.models import Run, RunStatus, VersionRecord
from templates_app import services as templates
from templates_app.models import Draft
from tests.helpers import finished_record, run_now, small_definition

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "outsider", "operator", "manager", "admin"]
TEAM = {"anonymous": "login", "outsider": 403, "operator": 200, "manager": 200, "admin": 200}
LANDING = {**TEAM, "outsider": 302}  # an account with no role is shown the public pages (test_sign_in_pages)
EVERYONE = dict.fromkeys(ROLES, 200)
INTERNAL = {"anonymous": 404, "outsider": 404, "operator": 200, "manager": 200, "admin": 200}


@pytest.fixture
def world(make_workflow, publish, operator, manager):
    base = make_workflow("campaign", "Campaign")
    internal = publish(base, small_definition())
    d = small_definition()
    d["steps"][0]["params"]["prompt"] = "{{inputs.subject}}, cool"
    public = publish(base, d, visibility="public")
    direction = templates.derive_direction(
        actor=operator, base=base, slug="campaign-cool", name="Cool", direction_label="Cool"
    )
    a = finished_record(operator, base, label="first")
    b = finished_record(operator, base, inputs={"subject": "a hare"}, label="second")
    waiting = run_now(services.start_run(actor=operator, workflow=base, inputs={"subject": "owl"}))
    return {
        "slug": base.slug,
        "direction": direction.slug,
        "draft": Draft.objects.filter(workflow=direction).get().pk,
        "record": a.pk,
        "other": b.pk,
        "run": waiting.pk,
        "public_manifest": public.manifest_hash,
        "internal_manifest": internal.manifest_hash,
    }


PAGES: list[tuple[str, dict[str, Any]]] = [
    ("/", LANDING),
    ("/workflows/", TEAM),
    ("/workflows/new/", TEAM),
    ("/workflows/{slug}/", TEAM),
    ("/workflows/{direction}/", TEAM),
    ("/drafts/{draft}/", TEAM),
    ("/workflows/{slug}/run/", TEAM),
    ("/runs/{run}/", TEAM),
    ("/records/", TEAM),
    ("/records/?q=first&model=local/plasma&approved=false", TEAM),
    ("/records/{record}/", TEAM),
    ("/records/compare/?a={record}&b={other}", TEAM),
    ("/manifests/{public_manifest}/", EVERYONE),
    ("/manifests/{internal_manifest}/", INTERNAL),
    ("/public/", EVERYONE),
    ("/accounts/login/", EVERYONE),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_for_every_role(world, personas, role):
    client = Client()
    if personas[role] is not None:
        client.force_login(personas[role])
    for template, expected in PAGES:
        url = template.format(**world)
        response = client.get(url)
        want = expected[role]
        if want == "login":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
        else:
            assert response.status_code == want, (url, response.status_code)
        if response.status_code == 200:
            assert b"Traceback" not in response.content and b"</html>" in response.content, url


def test_admin_only_pages(world, personas):
    for role in ROLES:
        client = Client()
        if personas[role] is not None:
            client.force_login(personas[role])
        response = client.get("/admin/")
        assert response.status_code == (200 if role == "admin" else 302), role


@pytest.mark.parametrize(("role", "expected"), [("operator", 403), ("manager", 302)])
def test_manager_actions_refuse_operators_on_the_server(world, personas, role, expected):
    client = Client()
    client.force_login(personas[role])
    response = client.post(f"/records/{world['record']}/approve/")
    assert response.status_code == expected
    assert VersionRecord.objects.get(pk=world["record"]).approved_at is not None if role == "manager" else True


def test_the_annotation_gate_cannot_be_bypassed_by_a_crafted_post(world, operator):
    client = Client()
    client.force_login(operator)
    url = f"/runs/{world['run']}/finalize/"
    for body in (
        {"label": "sneaky", "annotation": ""},
        {"label": "sneaky", "annotation": "   "},
        {"label": "sneaky", "annotation": "", "confirm_no_annotation": "off"},
        {"label": "sneaky", "annotation": "", "confirm_no_annotation": "yes"},
    ):
        response = client.post(url, body)
        assert response.status_code == 400, body
        assert b"tick the box" in response.content and b'name="confirm_no_annotation"' in response.content
    assert Run.objects.get(pk=world["run"]).status == RunStatus.AWAITING_ANNOTATION
    assert not VersionRecord.objects.filter(run_id=world["run"]).exists()
    accepted = client.post(url, {"label": "sneaky", "annotation": "", "confirm_no_annotation": "on"})
    assert accepted.status_code == 302
    run = Run.objects.get(pk=world["run"])
    assert run.status == RunStatus.RECORDING and run.saved_without_annotation and run.annotated_by == operator


def test_finalise_through_the_page_then_the_record_appears(world, operator):
    client = Client()
    client.force_login(operator)
    client.post(f"/runs/{world['run']}/finalize/", {"label": "Owl study", "annotation": "client loves owls"})
    record = services.write_record(run_id=world["run"])
    assert record is not None
    page = client.get(f"/runs/{world['run']}/")
    assert record.label.encode() in page.content and f"/records/{record.pk}/".encode() in page.content


def test_history_pages_with_a_cursor(world, operator):
    from runs_app import pages

    client = Client()
    client.force_login(operator)
    original = pages.HISTORY_PAGE
    pages.HISTORY_PAGE = 1
    try:
        first = client.get("/records/")
        more = re.search(rb'href="(\?cursor=[^"]+)"', first.content)
        assert more is not None
        second = client.get("/records/" + more.group(1).decode().replace("&amp;", "&"))
        labels = [re.findall(rb"<strong>(v\d+-[a-z0-9-]+)</strong>", r.content) for r in (first, second)]
        assert labels[0] and labels[1] and labels[0] != labels[1]
    finally:
        pages.HISTORY_PAGE = original


def test_what_was_canonical_on_a_day(world, operator):
    from django.utils import timezone

    client = Client()
    client.force_login(operator)
    today = timezone.now().date().isoformat()
    page = client.get(f"/workflows/{world['slug']}/?canonical_on={today}")
    found = re.search(rb'data-testid="canonical-on"><strong>([0-9.]+)</strong>, used by (\d+) run', page.content)
    assert found is not None
    assert found.group(1).decode().startswith(today.replace("-", ".")) and int(found.group(2)) >= 3
    before = client.get(f"/workflows/{world['slug']}/?canonical_on=2020-01-01")
    assert b"nothing was published yet" in before.content


def test_history_until_includes_that_day_and_partial_model_names(world, operator):
    from django.utils import timezone

    client = Client()
    client.force_login(operator)
    today = timezone.now().date().isoformat()
    page = client.get(f"/records/?since={today}&until={today}&model=plasma")
    assert b"v1-first" in page.content and b"v2-second" in page.content
    reversed_range = client.get(f"/records/?since={today}&until=2020-01-01")
    assert b"swap the dates" in reversed_range.content


def test_direction_labels_are_unique_among_siblings(world, operator):
    from core.errors import ValidationFailed
    from templates_app.models import Workflow

    with pytest.raises(ValidationFailed) as refused:
        templates.derive_direction(
            actor=operator,
            base=Workflow.objects.get(slug="campaign"),
            slug="campaign-cool-2",
            name="Cool again",
            direction_label="cool",
        )
    assert refused.value.problems[0].code == "label_taken"


def test_malformed_ids_and_filters_are_answered_not_crashed(world, operator):
    client = Client()
    client.force_login(operator)
    assert client.get("/records/compare/diff.png?a=nonsense&b=x&output=hero").status_code == 404
    assert client.get("/records/compare/?a=nonsense&b=x").status_code == 404
    bad = client.get("/records/?seed=not-a-number")
    assert bad.status_code == 200 and b"No record matches." in bad.content and b"seed" in bad.content
