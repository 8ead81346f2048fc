"""Published versions and pointer history cannot be rewritten: not through the
model, QuerySet.update, bulk_update, the admin, the API, nor raw SQL."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.test import Client

from runs_app import services
from runs_app.models import VersionRecord
from templates_app.models import PointerMove, WorkflowVersion
from tests.helpers import finished_record, small_definition

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(make_workflow, publish):
    return publish(make_workflow())


def test_model_save_refuses_frozen_changes(version):
    version.definition = {"steps": []}
    with pytest.raises(ValidationError):
        version.save()
    fresh = WorkflowVersion.objects.get(pk=version.pk)
    fresh.visibility = "public"
    fresh.save()  # raising visibility is the one allowed change
    fresh.visibility = "internal"
    with pytest.raises(ValidationError):
        fresh.save()


def test_model_delete_refused(version):
    with pytest.raises(ValidationError):
        version.delete()
    assert WorkflowVersion.objects.filter(pk=version.pk).exists()


def test_queryset_update_and_bulk_update_and_delete_refused(version):
    with pytest.raises(ValidationError):
        WorkflowVersion.objects.filter(pk=version.pk).update(manifest_hash="sha256:" + "0" * 64)
    version.definition = {}
    with pytest.raises(ValidationError):
        WorkflowVersion.objects.bulk_update([version], ["definition"])
    with pytest.raises(ValidationError):
        WorkflowVersion.objects.filter(pk=version.pk).delete()
    with pytest.raises(ValidationError):
        PointerMove.objects.all().delete()
    with pytest.raises(ValidationError):
        PointerMove.objects.all().update(reason="rewritten")


def _raw(sql, params):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE templates_app_workflowversion SET definition = '{}'::jsonb WHERE id = %s",
        "UPDATE templates_app_workflowversion SET version = '2020.01.01' WHERE id = %s",
        "UPDATE templates_app_workflowversion SET published_at = now() WHERE id = %s",
        "UPDATE templates_app_workflowversion SET message = 'rewritten afterwards' WHERE id = %s",
        "DELETE FROM templates_app_workflowversion WHERE id = %s",
    ],
)
def test_raw_sql_is_stopped_by_the_trigger(version, sql):
    if connection.vendor != "postgresql":
        pytest.fail("Triggers live in PostgreSQL: run through `make test`.")
    with pytest.raises(DatabaseError):
        _raw(sql, [version.pk])
    assert WorkflowVersion.objects.get(pk=version.pk).definition == version.definition


def test_raw_sql_cannot_lower_visibility_or_touch_history(version):
    _raw("UPDATE templates_app_workflowversion SET visibility = 'public' WHERE id = %s", [version.pk])
    with pytest.raises(DatabaseError):
        _raw("UPDATE templates_app_workflowversion SET visibility = 'internal' WHERE id = %s", [version.pk])
    move = PointerMove.objects.filter(version=version).first()
    assert move is not None
    with pytest.raises(DatabaseError):
        _raw("UPDATE templates_app_pointermove SET reason = 'forged' WHERE id = %s", [move.pk])
    with pytest.raises(DatabaseError):
        _raw("DELETE FROM templates_app_pointermove WHERE id = %s", [move.pk])


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_api_answers_405(version, operator, api, method):
    url = f"/api/workflows/{version.workflow.slug}/versions/{version.version}/"
    response = getattr(api(operator), method)(url, {"definition": {}}, format="json")
    assert response.status_code == 405
    assert WorkflowVersion.objects.get(pk=version.pk).definition == version.definition


def test_admin_shows_versions_read_only(version, admin_user):
    client = Client()
    client.force_login(admin_user)
    change_url = f"/admin/templates_app/workflowversion/{version.pk}/change/"
    page = client.get(change_url)
    assert page.status_code == 200 and version.manifest_hash.encode() in page.content
    assert b'name="_save"' not in page.content
    posted = client.post(change_url, {"version": "2020.01.01", "definition": "{}"})
    assert posted.status_code == 403
    assert client.post(f"/admin/templates_app/workflowversion/{version.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/templates_app/pointermove/add/").status_code == 403
    assert WorkflowVersion.objects.get(pk=version.pk).version == version.version


def test_one_way_fields_never_go_back(make_workflow, publish, operator, manager):
    workflow = make_workflow()
    version = publish(workflow, small_definition(), visibility="public")
    with pytest.raises(ValidationError):
        WorkflowVersion.objects.filter(pk=version.pk).update(visibility="internal")
    record = finished_record(operator, workflow)
    services.approve_record(actor=manager, record=record)
    with pytest.raises(ValidationError):
        VersionRecord.objects.filter(pk=record.pk).update(approved_at=None, approved_by=None)
    record.refresh_from_db()
    record.approved_at = None
    with pytest.raises(ValidationError):
        record.save()
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE runs_app_versionrecord SET approved_at = NULL, approved_by_id = NULL WHERE id = %s", [record.pk]
            )
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM runs_app_recordseed WHERE record_id = %s", [record.pk])
    assert VersionRecord.objects.get(pk=record.pk).approved_by == manager


def test_a_workflow_slug_and_its_origin_are_frozen_in_the_database(make_workflow, publish, operator):
    """pgtrigger workflow_slug_frozen: URLs, records and manifests name a workflow by its slug,
    and a direction by what it was derived from; no path below the services may change them."""
    from templates_app import services as templates
    from templates_app.models import Workflow

    if connection.vendor != "postgresql":
        pytest.fail("Triggers live in PostgreSQL: run through `make test`.")
    base = make_workflow("campaign", "Campaign")
    publish(base, small_definition())
    other = make_workflow("other", "Other")
    publish(other, small_definition())
    direction = templates.derive_direction(
        actor=operator, base=base, slug="campaign-cool", name="Cool", direction_label="Cool"
    )
    names = [f.attname for f in Workflow._meta.concrete_fields]
    before = list(Workflow.objects.order_by("pk").values(*names))
    attempts = [
        ("UPDATE templates_app_workflow SET slug = 'renamed' WHERE id = %s", [base.pk]),
        ("UPDATE templates_app_workflow SET slug = 'renamed' WHERE id = %s", [direction.pk]),
        ("UPDATE templates_app_workflow SET derived_from_id = %s WHERE id = %s", [other.pk, direction.pk]),
        (
            "UPDATE templates_app_workflow SET derived_from_version_id = %s WHERE id = %s",
            [other.canonical_version_id, direction.pk],
        ),
    ]
    for sql, params in attempts:
        with (
            pytest.raises(DatabaseError, match="workflow_slug_frozen"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, params)
    with pytest.raises(DatabaseError, match="workflow_slug_frozen"), transaction.atomic():
        Workflow.objects.filter(pk=base.pk).update(slug="renamed-too")
    assert list(Workflow.objects.order_by("pk").values(*names)) == before
    Workflow.objects.filter(pk=base.pk).update(name="Campaign, renamed")  # the other fields stay editable
    assert Workflow.objects.get(pk=base.pk).name == "Campaign, renamed"
    assert Workflow.objects.get(pk=base.pk).slug == "campaign"
