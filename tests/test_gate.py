"""The publish gate: one case per error code, valid definitions that pass, and
the refusals seen through the API."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import ValidationFailed
from templates_app import services
from templates_app.models import Draft, ModelSnapshot, WorkflowVersion
from tests.helpers import overlay_definition, small_definition, valid_definition

pytestmark = pytest.mark.django_db


def codes_for(workflow, operator, definition: Any) -> list[tuple[str, str]]:
    draft = Draft(workflow=workflow, definition=definition, author=operator)
    return [(p.code, p.path) for p in services.validate_draft(draft=draft).problems]


def edit(mutate):
    d = valid_definition()
    mutate(d)
    return d


# (code, definition builder, expected path)
CASES = [
    ("invalid_definition", lambda: ["not", "an", "object"], ""),
    ("unknown_field", lambda: edit(lambda d: d.update(colour="red")), "colour"),
    (
        "invalid_number",
        lambda: edit(lambda d: d["steps"][0]["params"].update(guidance_scale=float("nan"))),
        "steps[0].params.guidance_scale",
    ),
    ("invalid_input", lambda: edit(lambda d: d["inputs"].update(mood={"type": "colour"})), "inputs.mood.type"),
    ("empty_pipeline", lambda: edit(lambda d: d.update(steps=[])), "steps"),
    ("invalid_step", lambda: edit(lambda d: d["steps"].append("styled again")), "steps[2]"),
    ("invalid_step_id", lambda: edit(lambda d: d["steps"][1].update(id="2 styled")), "steps[1].id"),
    ("duplicate_step_id", lambda: edit(lambda d: d["steps"][1].update(id="background")), "steps[1].id"),
    ("unknown_step_kind", lambda: edit(lambda d: d["steps"][1].update(kind="teleport")), "steps[1].kind"),
    ("missing_model", lambda: edit(lambda d: d["steps"][0].pop("model")), "steps[0].model"),
    ("unknown_model", lambda: edit(lambda d: d["steps"][0].update(model="acme/dreamer")), "steps[0].model"),
    ("missing_parameter", lambda: edit(lambda d: d["steps"][0]["params"].pop("prompt")), "steps[0].params.prompt"),
    (
        "invalid_parameter",
        lambda: edit(lambda d: d["steps"][1]["params"].update(strength=1.7)),
        "steps[1].params.strength",
    ),
    (
        "invalid_parameter",
        lambda: edit(lambda d: d["steps"][0]["params"].update(steps="thirty")),
        "steps[0].params.steps",
    ),
    (
        "unknown_parameter",
        lambda: edit(lambda d: d["steps"][0]["params"].update(guidence_scale=7)),
        "steps[0].params.guidence_scale",
    ),
    (
        "unresolved_reference",
        lambda: edit(lambda d: d["steps"][0]["params"].update(prompt="{{inputs.mood}} sky")),
        "steps[0].params.prompt",
    ),
    (
        "unresolved_reference",
        lambda: edit(lambda d: d["steps"][1]["params"].update(image="{{steps.sketch.output}}")),
        "steps[1].params.image",
    ),
    (
        "forward_reference",
        lambda: edit(lambda d: d["steps"][0]["params"].update(prompt="{{steps.styled.output}}")),
        "steps[0].params.prompt",
    ),
    (
        "forward_reference",
        lambda: edit(lambda d: d["steps"][1]["params"].update(image="{{steps.styled.output}}")),
        "steps[1].params.image",
    ),
    (
        "missing_subworkflow",
        lambda: edit(
            lambda d: d["steps"].append(
                {"id": "overlay", "kind": "subworkflow", "workflow": "no-such-workflow", "inputs": {}}
            )
        ),
        "steps[2].workflow",
    ),
    ("missing_outputs", lambda: edit(lambda d: d.update(outputs={})), "outputs"),
    ("output_references_nothing", lambda: edit(lambda d: d["outputs"].update(extra="a literal")), "outputs.extra"),
    (
        "unresolved_reference",
        lambda: edit(lambda d: d["outputs"].update(hero="{{steps.ghost.output}}")),
        "outputs.hero",
    ),
    ("invalid_policy", lambda: edit(lambda d: d["policy"].update(gates="after styled")), "policy.gates"),
    ("budget_exceeded", lambda: edit(lambda d: d["policy"]["budget"].update(max_steps=1)), "policy.budget.max_steps"),
]


@pytest.mark.parametrize(("code", "build", "path"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_gate_code_is_reported_at_its_path(make_workflow, operator, code, build, path):
    workflow = make_workflow()
    assert (code, path) in codes_for(workflow, operator, build())


def test_retired_pinned_snapshot_is_refused(make_workflow, operator, admin_user):
    snap = ModelSnapshot.objects.get(family__name="local/plasma", snapshot="2026-04-21")
    services.retire_model_snapshot(actor=admin_user, snapshot=snap)
    definition = edit(lambda d: d["steps"][1].update(model="local/plasma@2026-04-21"))
    assert ("retired_model", "steps[1].model") in codes_for(make_workflow(), operator, definition)


def test_unknown_snapshot_of_a_known_family(make_workflow, operator):
    definition = edit(lambda d: d["steps"][1].update(model="local/plasma@1999-01-01"))
    assert ("unknown_model", "steps[1].model") in codes_for(make_workflow(), operator, definition)


def test_every_problem_is_listed_at_once(make_workflow, operator):
    d = valid_definition()
    d["steps"][0]["params"]["prompt"] = "{{inputs.nothing}}"
    d["steps"][1]["model"] = "acme/x"
    d["steps"][1]["params"]["strength"] = 3
    d["outputs"] = {"hero": "plain text"}
    found = {c for c, _ in codes_for(make_workflow(), operator, d)}
    assert {"unresolved_reference", "unknown_model", "invalid_parameter", "output_references_nothing"} <= found


def test_subworkflow_without_published_version_is_missing(make_workflow, operator):
    make_workflow("brand-overlay", "Brand overlay")  # exists, but nothing published
    d = edit(lambda d: d["steps"].append({"id": "overlay", "kind": "subworkflow", "workflow": "brand-overlay"}))
    assert ("missing_subworkflow", "steps[2].workflow") in codes_for(make_workflow(), operator, d)


def with_overlay(version: str | None = None) -> dict[str, Any]:
    d = valid_definition()
    step: dict[str, Any] = {
        "id": "overlay",
        "kind": "subworkflow",
        "workflow": "brand-overlay",
        "inputs": {"image": "{{steps.styled.output}}"},
    }
    if version:
        step["version"] = version
    d["steps"].append(step)
    d["outputs"] = {"hero": "{{steps.overlay.outputs.image}}"}
    return d


def test_valid_definitions_with_subworkflow_pinned_and_floating_models_publish(make_workflow, publish, operator):
    overlay = publish(make_workflow("brand-overlay", "Brand overlay"), overlay_definition())
    campaign = make_workflow()
    floating_and_pinned = with_overlay()
    assert codes_for(campaign, operator, floating_and_pinned) == []
    v1 = publish(campaign, floating_and_pinned)
    assert v1.bump == "initial" and campaign.canonical_version == v1
    named = with_overlay(version=overlay.version)
    named["steps"][0]["params"]["prompt"] = "{{inputs.subject}}, cooler"
    v2 = publish(campaign, named)
    assert v2.version != v1.version and v2.bump == "minor"


def test_subworkflow_output_and_input_contracts_are_checked(make_workflow, publish, operator):
    publish(make_workflow("brand-overlay", "Brand overlay"), overlay_definition())
    d = with_overlay()
    d["outputs"] = {"hero": "{{steps.overlay.outputs.logo}}"}
    d["steps"][2]["inputs"] = {"picture": "{{steps.styled.output}}"}
    found = codes_for(make_workflow(), operator, d)
    assert ("unresolved_reference", "outputs.hero") in found
    assert ("unknown_parameter", "steps[2].inputs.picture") in found
    assert ("missing_parameter", "steps[2].inputs.image") in found


def test_subworkflow_cycle_is_refused(make_workflow, publish, operator):
    campaign = make_workflow()
    publish(campaign, valid_definition())
    overlay = make_workflow("brand-overlay", "Brand overlay")
    uses_campaign = overlay_definition()
    uses_campaign["steps"].append(
        {"id": "again", "kind": "subworkflow", "workflow": "campaign-a", "inputs": {"subject": "loop"}}
    )
    publish(overlay, uses_campaign)
    assert ("subworkflow_cycle", "steps[2].workflow") in codes_for(campaign, operator, with_overlay())
    itself = edit(
        lambda d: d["steps"].append(
            {"id": "me", "kind": "subworkflow", "workflow": "campaign-a", "inputs": {"subject": "x"}}
        )
    )
    assert ("subworkflow_cycle", "steps[2].workflow") in codes_for(campaign, operator, itself)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d["inputs"].pop("subject"), "inputs.subject"),
        (lambda d: d["inputs"]["subject"].update(type="integer"), "inputs.subject.type"),
        (lambda d: d["inputs"]["reference"].update(required=True), "inputs.reference.required"),
        (lambda d: d["inputs"].update(palette={"type": "string", "required": True}), "inputs.palette"),
        (lambda d: d.update(outputs={"poster": "{{steps.styled.output}}"}), "outputs.hero"),
    ],
    ids=["input-removed", "input-retyped", "input-now-required", "new-required-input", "output-renamed"],
)
def test_contract_changes_are_refused(make_workflow, publish, operator, mutate, path):
    workflow = make_workflow()
    publish(workflow)
    d = valid_definition()
    d["steps"][0]["params"]["prompt"] = "{{inputs.subject}}, a new look"
    mutate(d)
    if "subject" not in d["inputs"]:
        d["steps"][0]["params"]["prompt"] = "a new look"
    assert ("contract_changed", path) in codes_for(workflow, operator, d)


def test_identical_to_canonical_is_refused_as_nothing_changed(make_workflow, publish, operator):
    workflow = make_workflow()
    publish(workflow)
    # The same definition written with other key order still hashes the same.
    reordered = dict(reversed(list(valid_definition().items())))
    assert codes_for(workflow, operator, reordered) == [("nothing_changed", "")]


def test_refused_publish_through_api_lists_errors_and_mints_nothing(make_workflow, operator, api):
    workflow = make_workflow()
    client = api(operator)
    bad = edit(lambda d: (d["steps"][0]["params"].update(prompt="{{inputs.nope}}"), d["steps"][1].update(model="x/y")))
    draft = client.post(f"/api/workflows/{workflow.slug}/drafts/", {"definition": bad}, format="json")
    assert draft.status_code == 201, draft.content
    response = client.post(f"/api/drafts/{draft.json()['id']}/publish/", {"visibility": "internal"}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {(e["code"], e["path"]) for e in errors} >= {
        ("unresolved_reference", "steps[0].params.prompt"),
        ("unknown_model", "steps[1].model"),
    }
    assert all(e["message"] for e in errors)
    assert not WorkflowVersion.objects.filter(workflow=workflow).exists()


def test_validate_endpoint_reports_bump_and_errors(make_workflow, publish, operator, admin_user, api):
    workflow = make_workflow()
    publish(workflow)
    services.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-10-01")
    client = api(operator)
    d = valid_definition()
    d["steps"][1]["model"] = "local/plasma@2026-10-01"
    draft_id = client.post(f"/api/workflows/{workflow.slug}/drafts/", {"definition": d}, format="json").json()["id"]
    body = client.get(f"/api/drafts/{draft_id}/validate/").json()
    assert body["valid"] is True and body["errors"] == [] and body["bump"] == "patch"


def test_publisher_may_raise_bump_but_not_lower_it(make_workflow, publish, operator):
    workflow = make_workflow()
    publish(workflow)
    d = valid_definition()
    d["steps"][0]["params"]["width"] = 1024  # output shape: major
    draft = services.save_draft(actor=operator, workflow=workflow, definition=d)
    with pytest.raises(ValidationFailed) as refused:
        services.publish_draft(actor=operator, draft=draft, bump="minor")
    assert refused.value.problems[0].code == "bump_too_low"
    d2 = valid_definition()
    d2["steps"][1]["model"] = "local/plasma@2026-04-21"  # minor, raised to major
    v = publish(workflow, d2, bump="major")
    assert v.bump == "major"


def test_archived_workflow_cannot_publish(make_workflow, publish, operator, admin_user):
    from core.errors import Conflict

    workflow = make_workflow()
    services.archive_workflow(actor=admin_user, workflow=workflow, reason="off brief")
    draft = services.save_draft(actor=operator, workflow=workflow, definition=valid_definition())
    with pytest.raises(Conflict) as refused:
        services.publish_draft(actor=operator, draft=draft)
    assert refused.value.code == "workflow_archived"


def test_draft_accepts_incomplete_json_but_not_non_objects(make_workflow, operator, api):
    workflow = make_workflow()
    client = api(operator)
    half = {"steps": [{"id": "bg", "kind": "generate_image", "params": {"prompt": "{{inputs.todo"}}]}
    assert (
        client.post(f"/api/workflows/{workflow.slug}/drafts/", {"definition": half}, format="json").status_code == 201
    )
    refused = client.post(f"/api/workflows/{workflow.slug}/drafts/", {"definition": [1, 2]}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "invalid_definition"
    nan = client.post(
        f"/api/workflows/{workflow.slug}/drafts/", data='{"definition": {"x": NaN}}', content_type="application/json"
    )
    assert nan.status_code == 400
    assert Draft.objects.filter(workflow=workflow).count() == 1


@pytest.mark.parametrize(
    ("inputs", "path"),
    [
        ({"subject": {"type": "string", "default": 3}}, "inputs.subject.default"),
        (
            {"subject": {"type": "string"}, "reference": {"type": "image", "default": "0" * 64}},
            "inputs.reference.default",
        ),
    ],
)
def test_input_defaults_are_checked_by_the_gate(make_workflow, operator, inputs, path):
    d = small_definition()
    d["inputs"] = inputs
    problems = services.validate_draft(draft=Draft(workflow=make_workflow(), definition=d)).problems
    assert ("invalid_input", path) in {(p.code, p.path) for p in problems}
