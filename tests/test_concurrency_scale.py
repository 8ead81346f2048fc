"""Concurrency at the sizes DESIGN §12 names: 16 finalisers × 100 runs on one
workflow number their records exactly 1..1600; 16 publishers get 16 versions."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from runs_app import services
from runs_app.models import Run, RunStatus, VersionRecord
from templates_app import services as templates
from templates_app.models import WorkflowVersion
from tests.helpers import in_threads, small_definition

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_run_quota(settings):
    """These tests start many runs at once to load the system; the per-user quota is tested in test_bounds."""
    settings.FLONIKS_MAX_ACTIVE_RUNS_PER_USER = 100_000


def test_sixteen_finalisers_times_one_hundred_runs(make_workflow, publish, operator):
    if connection.vendor != "postgresql":
        pytest.fail("Needs PostgreSQL: run through `make test`.")
    workflow = make_workflow()
    publish(workflow, small_definition(width=64, height=64))
    runs = [
        services.start_run(actor=operator, workflow=workflow, inputs={"subject": f"take {i}"}).pk for i in range(1600)
    ]
    # Generation is not what this measures: the runs wait for their annotation as if it had finished.
    Run.objects.filter(pk__in=runs).update(status=RunStatus.AWAITING_ANNOTATION)
    began = time.monotonic()

    def finaliser(i: int) -> None:
        for run_id in runs[i::16]:
            run = Run(pk=run_id)
            services.finalize_run(actor=operator, run=run, label=f"take {run_id.hex[:6]}", annotation="race")
            services.write_record(run_id=run_id)

    assert in_threads(16, finaliser) == []
    elapsed = time.monotonic() - began
    numbers = list(VersionRecord.objects.filter(workflow=workflow).order_by("number").values_list("number", flat=True))
    assert numbers == list(range(1, 1601))
    assert VersionRecord.objects.filter(workflow=workflow).values("run").distinct().count() == 1600
    print(f"\n1600 records by 16 concurrent finalisers in {elapsed:.1f}s ({1600 / elapsed:.0f} records/s)")


def test_sixteen_concurrent_publishers(make_workflow, operator):
    workflow = make_workflow()
    drafts = [
        templates.save_draft(
            actor=operator, workflow=workflow, definition=small_definition(prompt=f"{{{{inputs.subject}}}}, take {i}")
        )
        for i in range(16)
    ]
    assert in_threads(16, lambda i: templates.publish_draft(actor=operator, draft=drafts[i])) == []
    versions = list(WorkflowVersion.objects.filter(workflow=workflow).values_list("version", flat=True))
    assert len(versions) == len(set(versions)) == 16
