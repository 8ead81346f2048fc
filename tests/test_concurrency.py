"""Concurrent publishes on one workflow get distinct version strings (real PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection

from templates_app import services
from templates_app.models import WorkflowVersion
from tests.helpers import in_threads, valid_definition


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishes_get_distinct_versions(make_workflow, operator):
    if connection.vendor != "postgresql":
        pytest.fail("This test needs PostgreSQL: run it through `make test`.")
    workflow = make_workflow()
    drafts = []
    for i in range(4):
        d = valid_definition()
        d["steps"][0]["params"]["prompt"] = f"{{{{inputs.subject}}}}, variant {i}"
        drafts.append(services.save_draft(actor=operator, workflow=workflow, definition=d))
    results: list[str] = []
    errors = in_threads(
        len(drafts), lambda i: results.append(services.publish_draft(actor=operator, draft=drafts[i]).version)
    )
    assert errors == []
    assert len(results) == len(set(results)) == 4
    stored = list(
        WorkflowVersion.objects.filter(workflow=workflow).order_by("sequence").values_list("version", "sequence")
    )
    base = stored[0][0]
    assert [v for v, _ in stored] == [base, f"{base}.2", f"{base}.3", f"{base}.4"]
    assert [s for _, s in stored] == [1, 2, 3, 4]
