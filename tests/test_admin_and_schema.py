"""The admin covers every model and opens only to admins; the OpenAPI schema
and its browsable docs are served."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client

from templates_app import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def populated(make_workflow, publish, operator):
    workflow = make_workflow()
    publish(workflow)
    services.save_draft(actor=operator, workflow=workflow, definition={"steps": []})
    return workflow


def test_every_model_has_an_admin_page_that_renders(populated, admin_user):
    from django.apps import apps

    client = Client()
    client.force_login(admin_user)
    for app_label in ("templates_app",):
        for model in apps.get_app_config(app_label).get_models():
            assert admin.site.is_registered(model), model
            changelist = f"/admin/{app_label}/{model._meta.model_name}/"
            assert client.get(changelist).status_code == 200, changelist
            obj = model._default_manager.first()
            if obj is not None:
                assert client.get(f"{changelist}{obj.pk}/change/").status_code == 200


@pytest.mark.parametrize("who", ["operator", "manager", "outsider"])
def test_admin_is_closed_to_non_admins(populated, personas, who):
    client = Client()
    client.force_login(personas[who])
    response = client.get("/admin/templates_app/workflow/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_admin_actions_go_through_services(populated, admin_user):
    client = Client()
    client.force_login(admin_user)
    chosen = {"action": "archive", "_selected_action": [populated.pk]}
    asked = client.post("/admin/templates_app/workflow/", chosen)
    assert asked.status_code == 200 and b'name="reason"' in asked.content  # the reason is asked for first
    populated.refresh_from_db()
    assert populated.lifecycle != "archived"
    response = client.post(
        "/admin/templates_app/workflow/", {**chosen, "reason": "client dropped it", "confirm": "yes"}, follow=True
    )
    assert response.status_code == 200
    populated.refresh_from_db()
    assert populated.lifecycle == "archived"
    assert populated.pointer_moves.filter(pointer="lifecycle", actor=admin_user, reason="client dropped it").exists()


def test_schema_and_docs():
    client = Client()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for expected in [
        "/api/workflows/",
        "/api/drafts/{id}/publish/",
        "/api/workflows/{slug}/versions/{version}/",
        "/api/manifests/{manifest_hash}/",
        "/api/auth/token/",
        "/api/models/",
    ]:
        assert expected in paths, expected
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_runs_admin_pages_render(make_workflow, publish, operator, admin_user):
    from django.apps import apps

    from runs_app import services as runs
    from tests.helpers import finished_record, small_definition

    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow)
    runs.reproduce_record(actor=operator, record=record)
    runs.make_contact_sheet(actor=operator, base=workflow, inputs={"subject": "a fox"})  # evidence, for its admin
    client = Client()
    client.force_login(admin_user)
    for model in apps.get_app_config("runs_app").get_models():
        url = f"/admin/runs_app/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
        obj = model._default_manager.first()
        if obj is not None:
            assert client.get(f"{url}{obj.pk}/change/").status_code == 200, url
