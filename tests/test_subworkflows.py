"""Sub-workflows: a record pins the versions of the sub-workflows it ran, the gate checks
literal inputs given to them, and promotion never closes a cycle of calls."""

from __future__ import annotations

import pytest

from core.errors import Conflict
from runs_app import services
from runs_app.models import ReproductionCheck
from templates_app import services as templates
from templates_app.models import Draft
from tests.helpers import (
    definition_with_overlay,
    finished_record,
    overlay_definition,
    promote_with_evidence,
    run_now,
)

pytestmark = pytest.mark.django_db


def test_reproduction_runs_the_sub_workflow_version_the_record_used(make_workflow, publish, operator, manager):
    overlay = make_workflow("brand-overlay", "Brand overlay")
    v1 = publish(overlay, overlay_definition())
    campaign = make_workflow()
    publish(campaign, definition_with_overlay())
    record = finished_record(operator, campaign)
    assert record.subworkflows["overlay"]["version"] == v1.version
    v2 = publish(overlay, overlay_definition("logo top left"))
    promote_with_evidence(manager, v2)
    run = run_now(services.reproduce_record(actor=operator, record=record))
    assert run.specification["subworkflows"]["overlay"]["version"] == v1.version
    assert ReproductionCheck.objects.get(run=run).verdict == "exact"
    fresh = services.start_run(actor=operator, workflow=campaign, inputs=record.inputs)
    assert fresh.specification["subworkflows"]["overlay"]["version"] == v2.version


def test_literal_subworkflow_inputs_are_checked(make_workflow, publish, operator):
    publish(make_workflow("brand-overlay", "Brand overlay"), overlay_definition())
    d = definition_with_overlay()
    d["steps"][2]["inputs"] = {"image": "not an image"}
    problems = templates.validate_draft(draft=Draft(workflow=make_workflow(), definition=d)).problems
    assert ("invalid_parameter", "steps[2].inputs.image") in {(p.code, p.path) for p in problems}


def test_promotion_cannot_close_a_subworkflow_cycle(make_workflow, publish, operator, manager):
    a, b = make_workflow("wf-a", "A"), make_workflow("wf-b", "B")
    publish(a, overlay_definition("a"))
    publish(b, overlay_definition("b"))

    def calling(other):
        d = overlay_definition("x")
        d["steps"].append(
            {"id": "call", "kind": "subworkflow", "workflow": other, "inputs": {"image": "{{steps.stamp.output}}"}}
        )
        d["outputs"] = {"image": "{{steps.call.outputs.image}}"}
        return d

    a2 = publish(a, calling("wf-b"), channel="alternate")
    b2 = publish(b, calling("wf-a"), channel="alternate")
    promote_with_evidence(manager, a2)
    with pytest.raises(Conflict) as refused:
        templates.promote_version(actor=manager, version=b2)
    assert refused.value.code == "subworkflow_cycle"
    b.refresh_from_db()
    assert b.canonical_version != b2
