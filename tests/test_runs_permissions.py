"""Runs, records and artifacts × every persona; the audit command; the runs admin."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from runs_app import services
from runs_app.models import ReproductionCheck, Run
from tests.helpers import finished_record, run_now, small_definition

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "outsider", "operator", "manager", "admin"]


def statuses(*codes: int) -> dict[str, int]:
    return dict(zip(ROLES, codes, strict=True))


TEAM = statuses(401, 403, 200, 200, 200)

MATRIX: list[tuple[str, str, Any, dict[str, int]]] = [
    ("GET", "/api/runs/", None, TEAM),
    ("POST", "/api/runs/", {"workflow": "campaign-a", "inputs": {"subject": "owl"}}, statuses(401, 403, 201, 201, 201)),
    ("GET", "/api/runs/{run}/", None, TEAM),
    ("POST", "/api/runs/{awaiting}/finalize/", {"label": "x", "annotation": "y"}, statuses(401, 403, 202, 202, 202)),
    ("POST", "/api/runs/{queued}/cancel/", None, TEAM),
    ("GET", "/api/records/", None, TEAM),
    ("GET", "/api/records/{record}/", None, TEAM),
    ("POST", "/api/records/{record}/approve/", None, statuses(401, 403, 403, 200, 200)),
    ("POST", "/api/records/{record}/reproduce/", {}, statuses(401, 403, 202, 202, 202)),
    ("POST", "/api/records/{record}/flag-legacy/", {}, TEAM),
    ("GET", "/api/records/{record}/checks/", None, TEAM),
    ("GET", "/api/records/compare/?a={record}&b={record}", None, TEAM),
]


@pytest.fixture
def world(make_workflow, publish, operator):
    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow)
    awaiting = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "hare"}))
    queued = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "owl"})
    return {"run": record.run_id, "record": record.pk, "awaiting": awaiting.pk, "queued": queued.pk}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "url", "body", "expected"), MATRIX, ids=[f"{m} {u}" for m, u, _b, _e in MATRIX])
def test_permission_matrix(world, personas, api, role, method, url, body, expected):
    response = api(personas[role]).generic(
        method, url.format(**world), data=None if body is None else json.dumps(body), content_type="application/json"
    )
    assert response.status_code == expected[role], (role, response.content[:300])


@pytest.mark.parametrize("role", ROLES)
def test_upload_permissions(personas, api, role):
    from tests.helpers import png_bytes

    response = api(personas[role]).post("/api/artifacts/", {"file": png_bytes()}, format="multipart")
    assert response.status_code == statuses(401, 403, 201, 201, 201)[role]


def test_audit_reproduces_every_approved_record(make_workflow, publish, operator, manager, capsys):
    workflow = make_workflow()
    publish(workflow, small_definition())
    approved = finished_record(operator, workflow, label="keeper")
    finished_record(operator, workflow, label="not approved")
    services.approve_record(actor=manager, record=approved)
    call_command("audit_reproducibility", "--as", operator.username)
    run = Run.objects.get(reproduces=approved)
    assert Run.objects.filter(reproduces__isnull=False).count() == 1
    run_now(run)
    assert ReproductionCheck.objects.get(run=run).verdict == "exact"
    assert "v1-keeper: reproducing" in capsys.readouterr().out


def test_audit_reports_drift_and_fails(make_workflow, publish, operator, manager, admin_user):
    from templates_app import services as templates

    workflow = make_workflow()
    publish(workflow, small_definition())
    services.approve_record(actor=manager, record=finished_record(operator, workflow))
    templates.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-12-01", make_default=True)
    with pytest.raises(SystemExit) as exited:
        call_command("audit_reproducibility", "--as", operator.username)
    assert exited.value.code == 1 and not Run.objects.filter(reproduces__isnull=False).exists()


def test_runs_admin_pages_render(make_workflow, publish, operator, admin_user):
    from django.apps import apps

    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow)
    services.reproduce_record(actor=operator, record=record)
    client = Client()
    client.force_login(admin_user)
    for model in apps.get_app_config("runs_app").get_models():
        url = f"/admin/runs_app/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
        obj = model._default_manager.first()
        if obj is not None:
            assert client.get(f"{url}{obj.pk}/change/").status_code == 200, url
