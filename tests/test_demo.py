"""`manage.py load_demo`: what a newcomer sees after `make run` includes the evidence features."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from runs_app.models import Batch, ContactSheet, Evaluation, Run, SignedOutput, VersionRecord
from templates_app.models import Workflow


@pytest.mark.django_db(transaction=True)  # the demo's real generators run longer than the step watch allows otherwise
def test_the_demo_shows_a_batch_an_evaluated_promotion_a_contact_sheet_and_signed_records() -> None:
    call_command("load_demo", stdout=io.StringIO())
    runs_made = Run.objects.count()
    call_command("load_demo", stdout=io.StringIO())  # a second start adds nothing
    assert Run.objects.count() == runs_made

    client = Client()
    client.force_login(User.objects.get(username="manager"))

    batch = Batch.objects.get()
    statuses = sorted(batch.runs.values_list("status", flat=True))
    assert statuses == ["discarded"] * 4 + ["finalized"] * 2
    batch_page = client.get(f"/batches/{batch.pk}/")
    assert batch_page.status_code == 200
    for record in VersionRecord.objects.filter(run__batch=batch):
        assert f"/records/{record.pk}/" in batch_page.content.decode()

    evaluation = Evaluation.objects.get()
    assert evaluation.is_done
    assert client.get(f"/evaluations/{evaluation.pk}/").status_code == 200
    workflow_page = client.get("/workflows/campaign-a/")
    assert evaluation.candidate.version in workflow_page.content.decode()
    assert f"/evaluations/{evaluation.pk}/" in workflow_page.content.decode()  # the pointer move's evidence

    sheet = ContactSheet.objects.get()
    assert sheet.is_done and sheet.cells.count() == 4  # the base and its three directions
    assert client.get(f"/contact-sheets/{sheet.pk}/").status_code == 200
    assert client.get(f"/contact-sheets/{sheet.pk}/image.png").status_code == 200

    assert not VersionRecord.objects.exclude(pk__in=SignedOutput.objects.values("record")).exists()
    record = VersionRecord.objects.filter(run__batch=batch).first()
    assert record is not None
    record_page = client.get(f"/records/{record.pk}/")
    assert record_page.status_code == 200
    assert 'data-testid="signed-hero"' in record_page.content.decode()


@pytest.mark.django_db
def test_the_demo_leaves_a_real_admin_account_alone_unless_told(settings, tmp_path) -> None:
    settings.VAR_DIR = tmp_path  # no passwords file: these accounts are not the demo's
    admin = User.objects.create_user(username="admin", password="the team's own secret")
    with pytest.raises(CommandError, match=r"admin already exist.*--reset-passwords"):
        call_command("load_demo", stdout=io.StringIO())
    admin.refresh_from_db()
    assert admin.check_password("the team's own secret")
    assert not Run.objects.exists() and not User.objects.filter(username="operator").exists()
    assert not (tmp_path / "demo-accounts.txt").exists()

    Workflow.objects.create(slug="campaign-a", name="Campaign A")  # the workspace is there: accounts only
    call_command("load_demo", "--reset-passwords", stdout=(out := io.StringIO()))
    admin.refresh_from_db()
    demo_password = dict(line.split(" ", 1) for line in (tmp_path / "demo-accounts.txt").read_text().splitlines())
    assert admin.check_password(demo_password["admin"]) and demo_password["admin"] in out.getvalue()
