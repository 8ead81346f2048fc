"""Immutability against every bypass path, and verify_manifests catching what a
superuser did below the application with the triggers switched off. Every refused
attempt is followed by a fresh read of the rows it aimed at: every field unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from runs_app.models import RecordSeed, VersionRecord
from templates_app.models import PointerMove, WorkflowVersion
from tests.helpers import finished_record, small_definition

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(make_workflow, publish, operator):
    workflow = make_workflow()
    version = publish(workflow, small_definition())
    record = finished_record(operator, workflow)
    return {"version": version, "record": record, "move": PointerMove.objects.filter(workflow=workflow).first()}


def fields_of(model: Any, **lookup: Any) -> list[dict[str, Any]]:
    """Every concrete field of the matching rows, read afresh from the database."""
    names = [f.attname for f in model._meta.concrete_fields]
    return list(model._base_manager.filter(**lookup).order_by("pk").values(*names))


def state(history: dict[str, Any]) -> dict[str, Any]:
    """The whole history the fixture made: versions, records with their seeds, pointer moves."""
    return {
        "versions": fields_of(WorkflowVersion),
        "records": fields_of(VersionRecord),
        "seeds": fields_of(RecordSeed),
        "moves": fields_of(PointerMove),
    }


@pytest.fixture
def unchanged(history):
    """Assert at the end of the test that nothing of the history changed, field by field."""
    before = state(history)
    assert before["versions"] and before["records"] and before["seeds"] and before["moves"]
    yield
    assert state(history) == before


def raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


RAW = [
    ("UPDATE templates_app_workflowversion SET definition = '{}'::jsonb WHERE id = %s", "version"),
    ("DELETE FROM templates_app_workflowversion WHERE id = %s", "version"),
    ("UPDATE runs_app_versionrecord SET annotation = 'forged' WHERE id = %s", "record"),
    ("UPDATE runs_app_versionrecord SET number = 99 WHERE id = %s", "record"),
    ("DELETE FROM runs_app_versionrecord WHERE id = %s", "record"),
    ("UPDATE templates_app_pointermove SET to_value = 'forged' WHERE id = %s", "move"),
    ("DELETE FROM templates_app_pointermove WHERE id = %s", "move"),
]


@pytest.mark.parametrize(("sql", "target"), RAW, ids=[s.split(" SET ")[0][:40] + " " + t for s, t in RAW])
def test_raw_sql_cannot_rewrite_history(history, unchanged, sql, target):
    if connection.vendor != "postgresql":
        pytest.fail("Triggers live in PostgreSQL: run through `make test`.")
    with pytest.raises(DatabaseError):
        raw(sql, [history[target].pk])


def test_model_and_queryset_paths_on_records_and_history(history, unchanged):
    record, move = history["record"], history["move"]
    record.annotation = "forged"
    with pytest.raises(ValidationError):
        record.save()
    with pytest.raises(ValidationError):
        record.delete()
    for call in (
        lambda: VersionRecord.objects.filter(pk=record.pk).update(label="v9-forged"),
        lambda: VersionRecord.objects.bulk_update([record], ["annotation"]),
        lambda: VersionRecord.objects.filter(pk=record.pk).delete(),
        lambda: PointerMove.objects.filter(pk=move.pk).update(reason="forged"),
        lambda: move.save(),
        lambda: move.delete(),
        lambda: RecordSeed.objects.filter(record=record).update(seed=1),
        lambda: WorkflowVersion.objects.bulk_update([history["version"]], ["manifest_hash"]),
    ):
        with pytest.raises(ValidationError):
            call()
    assert VersionRecord.objects.get(pk=record.pk).annotation == "client asked for warmth"


@pytest.mark.parametrize("model", [VersionRecord, PointerMove, WorkflowVersion])
def test_admin_cannot_change_or_delete_history(history, unchanged, admin_user, model):
    client = Client()
    client.force_login(admin_user)
    obj = model._default_manager.first()
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{obj.pk}"
    assert client.post(f"{base}/change/", {"annotation": "forged", "reason": "forged"}).status_code == 403
    assert client.post(f"{base}/delete/", {"post": "yes"}).status_code == 403
    admin_class = site._registry[model]
    assert not admin_class.has_delete_permission(type("R", (), {"user": admin_user})())


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_api_refuses_to_rewrite_records(history, unchanged, manager, api, method):
    response = getattr(api(manager), method)(
        f"/api/records/{history['record'].pk}/", {"annotation": "x"}, format="json"
    )
    assert response.status_code == 405


def test_verify_manifests_finds_tampering_done_with_triggers_disabled(history, capsys):
    if connection.vendor != "postgresql":
        pytest.fail("Needs PostgreSQL: run through `make test`.")
    call_command("verify_manifests")
    assert "All 1 manifest(s) verified." in capsys.readouterr().out
    version = history["version"]
    # A superuser session below the application: switch the triggers off, rewrite, switch them on again.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush deferred checks so the table can be altered
        cursor.execute("ALTER TABLE templates_app_workflowversion DISABLE TRIGGER ALL")
        cursor.execute(
            "UPDATE templates_app_workflowversion SET definition = jsonb_set(definition, '{steps,0,params,prompt}', "
            "'\"a forged prompt\"') WHERE id = %s",
            [version.pk],
        )
        cursor.execute("ALTER TABLE templates_app_workflowversion ENABLE TRIGGER ALL")
    with pytest.raises(SystemExit) as failed:
        call_command("verify_manifests")
    out = capsys.readouterr().out
    assert failed.value.code == 1 and f"campaign-a@{version.version}" in out and "no longer matches" in out
