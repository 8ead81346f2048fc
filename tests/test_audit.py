"""The reproducibility audit: `audit_reproducibility` reproduces every approved record and
fails, starting nothing, when a model drifted."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from runs_app import services
from runs_app.models import ReproductionCheck, Run
from templates_app import services as templates
from templates_app.models import ModelSnapshot
from tests.helpers import finished_record, run_now, small_definition

pytestmark = pytest.mark.django_db


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
    workflow = make_workflow()
    publish(workflow, small_definition())
    services.approve_record(actor=manager, record=finished_record(operator, workflow))
    templates.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-12-01", make_default=True)
    # A newer default alone is no reason to refuse (the recorded snapshot still runs); a retired one is.
    templates.retire_model_snapshot(
        actor=admin_user, snapshot=ModelSnapshot.objects.get(family__name="local/plasma", snapshot="2026-06-15")
    )
    with pytest.raises(SystemExit) as exited:
        call_command("audit_reproducibility", "--as", operator.username)
    assert exited.value.code == 1 and not Run.objects.filter(reproduces__isnull=False).exists()
