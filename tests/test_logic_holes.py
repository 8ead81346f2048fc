"""Business-logic holes found by probing (issue 11): each test here failed before the fix."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from core.errors import ValidationFailed
from runs_app import services as run_services
from runs_app.models import Run
from templates_app import services
from templates_app.models import Draft, PointerMove, Workflow
from tests.helpers import finished_record, small_definition

pytestmark = pytest.mark.django_db


def with_overlay(slug: str = "overlay") -> dict[str, Any]:
    """The small definition, finished by a sub-workflow step running `slug`."""
    definition = small_definition()
    definition["steps"].append(
        {"id": "finish", "kind": "subworkflow", "workflow": slug, "inputs": {"subject": "{{inputs.subject}}"}}
    )
    definition["outputs"] = {"hero": "{{steps.finish.outputs.hero}}"}
    return definition


@pytest.fixture
def overlay(make_workflow, publish):
    workflow = make_workflow("overlay", "Overlay")
    publish(workflow, small_definition())
    return workflow


def test_an_archived_sub_workflow_is_refused_at_run_start_naming_it(
    overlay, make_workflow, publish, operator, admin_user, api
):
    main = make_workflow("main", "Main")
    publish(main, with_overlay())
    services.archive_workflow(actor=admin_user, workflow=overlay, reason="retired look")
    response = api(operator).post("/api/runs/", {"workflow": "main", "inputs": {"subject": "fox"}}, format="json")
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "workflow_archived" and "'overlay'" in body["message"]
    assert body["errors"][0]["path"] == "finish"
    assert not Run.objects.exists()


def test_a_public_version_may_only_run_public_sub_workflow_versions(overlay, make_workflow, publish, manager, api):
    main = make_workflow("main", "Main")
    draft = services.save_draft(actor=manager, workflow=main, definition=with_overlay())
    with pytest.raises(ValidationFailed) as refused:
        services.publish_draft(actor=manager, draft=draft, visibility="public")
    assert [(p.code, p.path) for p in refused.value.problems] == [("internal_subworkflow", "steps[2].workflow")]
    assert "'overlay'" in refused.value.problems[0].message
    version = services.publish_draft(actor=manager, draft=draft, visibility="internal")
    # Raising it later meets the same rule.
    url = f"/api/workflows/main/versions/{version.version}/visibility/"
    response = api(manager).post(url, {"visibility": "public"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "internal_subworkflow"
    services.raise_visibility(actor=manager, version=overlay.canonical_version, visibility="public")
    assert api(manager).post(url, {"visibility": "public"}, format="json").status_code == 200


def test_anonymous_version_answers_omit_published_by(make_workflow, publish, operator, outsider, api):
    workflow = make_workflow()
    version = publish(workflow, small_definition(), visibility="public")
    url = f"/api/workflows/{workflow.slug}/versions/"
    for who in (None, outsider):
        listed, one = api(who).get(url), api(who).get(f"{url}{version.version}/")
        assert listed.status_code == 200 and one.status_code == 200
        assert "published_by" not in listed.json()["results"][0] and "published_by" not in one.json()
    assert api(operator).get(f"{url}{version.version}/").json()["published_by"] == version.published_by.username


def test_approving_a_direction_needs_a_published_version(make_workflow, publish, operator, manager, api):
    base = make_workflow("campaign", "Campaign")
    publish(base, small_definition())
    warm = services.derive_direction(actor=operator, base=base, slug="warm", name="Warm", direction_label="Warm")
    cool = services.derive_direction(actor=operator, base=base, slug="cool", name="Cool", direction_label="Cool")
    response = api(manager).post("/api/workflows/warm/approve/", {}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "no_published_version"
    assert set(Workflow.objects.filter(pk__in=[warm.pk, cool.pk]).values_list("lifecycle", flat=True)) == {"exploring"}


@pytest.fixture
def siblings(make_workflow, publish, operator, manager):
    """Two directions, each published; `cool` holds an approved record and a production pin."""
    base = make_workflow("campaign", "Campaign")
    publish(base, small_definition())
    made = {}
    for label in ("warm", "cool"):
        made[label] = services.derive_direction(
            actor=operator, base=base, slug=label, name=label.title(), direction_label=label.title()
        )
        services.publish_draft(actor=operator, draft=Draft.objects.get(workflow=made[label]))
    record = finished_record(operator, Workflow.objects.get(slug="cool"), label="client pick")
    run_services.approve_record(actor=manager, record=record)
    run_services.set_workflow_mode(actor=operator, workflow=made["cool"], mode="production", pin_record=record)
    return made


def test_the_approve_confirmation_says_what_is_archived_with_pins_and_records(siblings, manager, api):
    client = Client()
    client.force_login(manager)
    page = client.get("/workflows/warm/").content.decode()
    assert "production pin (from record v1-client-pick)" in page
    assert "1 approved record" in page
    preview = api(manager).get("/api/workflows/warm/approve/").json()["will_archive"]
    assert [(s["slug"], s["production_pin"], s["approved_records"], s["mode"]) for s in preview] == [
        ("cool", "v1-client-pick", 1, "production")
    ]
    done = api(manager).post("/api/workflows/warm/approve/", {"reason": "client chose warm"}, format="json").json()
    assert done["archived"] == ["cool"] and done["impact"][0]["production_pin"] == "v1-client-pick"


def test_archive_and_resurrect_need_a_reason_kept_in_the_history(make_workflow, admin_user, api):
    workflow = make_workflow()
    for action in ("archive", "resurrect"):
        url = f"/api/workflows/{workflow.slug}/{action}/"
        missing = api(admin_user).post(url, {}, format="json")
        assert missing.status_code == 400 and missing.json()["code"] == "reason_required"
        blank = api(admin_user).post(url, {"reason": "   "}, format="json")
        assert blank.status_code == 400
        assert api(admin_user).post(url, {"reason": f"{action}: client call"}, format="json").status_code == 200
    reasons = list(PointerMove.objects.filter(workflow=workflow, pointer="lifecycle").values_list("reason", flat=True))
    assert sorted(reasons) == ["archive: client call", "resurrect: client call"]
    with pytest.raises(ValidationFailed):
        services.archive_workflow(actor=admin_user, workflow=workflow)


def test_nothing_moves_on_an_archived_workflow_until_it_is_resurrected(
    make_workflow, publish, operator, manager, admin_user, api
):
    """Archived stays readable only: no version made public (it would reach anonymous visitors), no channel
    or canonical move, no mode switch; the page offers none of them."""
    workflow = make_workflow()
    first = publish(workflow, small_definition())
    second = publish(workflow, small_definition(prompt="{{inputs.subject}}, later"))
    record = finished_record(operator, workflow)
    run_services.approve_record(actor=manager, record=record)
    services.archive_workflow(actor=admin_user, workflow=workflow, reason="off brief")
    moves = PointerMove.objects.count()
    client = api(manager)
    base = f"/api/workflows/{workflow.slug}/versions"
    answers = [
        client.post(f"{base}/{first.version}/visibility/", {"visibility": "public"}, format="json"),
        client.post(f"{base}/{second.version}/promote/", {}, format="json"),
        client.post(f"{base}/{second.version}/channel/", {"channel": "alternate"}, format="json"),
        client.patch(
            f"/api/workflows/{workflow.slug}/", {"mode": "production", "pin_record": str(record.pk)}, format="json"
        ),
    ]
    assert [(a.status_code, a.json()["code"]) for a in answers] == [(409, "workflow_archived")] * 4
    assert PointerMove.objects.count() == moves
    first.refresh_from_db()
    assert first.visibility == "internal" and Client().get(f"/manifests/{first.manifest_hash}/").status_code == 404
    browser = Client()
    browser.force_login(manager)
    page = browser.get(f"/workflows/{workflow.slug}/").content.decode()
    assert "Make public" not in page and "Make canonical" not in page and "Switch to production" not in page


@pytest.mark.parametrize("slug", ["Under_Score", "UPPER", "double--dash", "-leading", "trailing-"])
def test_a_slug_is_lowercase_letters_digits_and_single_dashes(operator, api, slug):
    answer = api(operator).post("/api/workflows/", {"slug": slug, "name": "A job"}, format="json")
    assert answer.status_code == 400 and answer.json()["errors"][0]["path"] == "slug"
    assert not Workflow.objects.filter(slug=slug).exists()


def test_the_database_refuses_a_slug_the_forms_would_refuse(make_workflow):
    from django.db import IntegrityError, transaction

    workflow = make_workflow()
    with pytest.raises(IntegrityError), transaction.atomic():
        Workflow.objects.create(slug="Bad_Slug", name="Bypass", created_by=workflow.created_by)
