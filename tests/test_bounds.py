"""Bounded work (issue 11): steps per run with sub-workflows expanded, JSON depth and NUL
characters, pixels per step, active runs per user, lists without step lists, and outputs
released as soon as no later step reads them."""

from __future__ import annotations

import io
import json
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from PIL import Image

from runs_app import services as run_services
from runs_app.models import Run, RunStep
from runs_app.persistence import RecentOutputs
from templates_app import limits, services
from templates_app.models import Draft
from tests.helpers import run_now, small_definition

pytestmark = pytest.mark.django_db


def leaf(n: int = 10) -> dict[str, Any]:
    """A workflow of n small generate steps."""
    return {
        "inputs": {},
        "steps": [
            {
                "id": f"s{i}",
                "kind": "generate_image",
                "model": "local/plasma",
                "params": {"prompt": "warm", "width": 64, "height": 64},
            }
            for i in range(n)
        ],
        "outputs": {"image": "{{steps.s0.output}}"},
    }


def fan_out(slug: str, n: int = 10) -> dict[str, Any]:
    """A workflow of n sub-workflow steps, each running `slug`."""
    return {
        "inputs": {},
        "steps": [{"id": f"f{i}", "kind": "subworkflow", "workflow": slug} for i in range(n)],
        "outputs": {"image": "{{steps.f0.outputs.image}}"},
    }


@pytest.fixture
def levels(make_workflow, publish, settings):
    """Level 0 has ten steps; level k has ten sub-workflow steps running level k-1 (10^(k+1) steps).
    Published while the cap is lifted, as if they predated it."""
    settings.FLONIKS_MAX_RUN_STEPS = 10**9
    made = [make_workflow("level-0", "Level 0")]
    publish(made[0], leaf())
    for k in range(1, 5):
        made.append(make_workflow(f"level-{k}", f"Level {k}"))
        publish(made[k], fan_out(f"level-{k - 1}"))
    settings.FLONIKS_MAX_RUN_STEPS = 200
    return made


def test_the_level_5_fan_out_draft_validates_quickly_with_a_clear_too_many_steps(
    levels, make_workflow, operator, api, django_assert_max_num_queries
):
    top = make_workflow("level-5", "Level 5")
    draft = services.save_draft(actor=operator, workflow=top, definition=fan_out("level-4"))
    # Each sub-workflow version is counted once: a handful of queries and walks, not one per path (10^5).
    counted = []
    original = limits.SubworkflowWalk.step_counts

    def counting(walk, definition):
        counted.append(1)
        return original(walk, definition)

    with django_assert_max_num_queries(40), mock.patch.object(limits.SubworkflowWalk, "step_counts", counting):
        response = api(operator).get(f"/api/drafts/{draft.pk}/validate/")
    assert len(counted) <= 12, f"{len(counted)} expansions: the per-version memo is not holding"
    assert response.status_code == 200
    problems = response.json()["errors"]
    too_many = [p for p in problems if p["code"] == "too_many_steps"]
    assert too_many and too_many[0]["path"] == "steps"
    assert "1,000,000 steps" in too_many[0]["message"] and "at most 200" in too_many[0]["message"]


def test_publishing_past_the_step_cap_is_refused(levels, make_workflow, operator):
    wide = make_workflow("level-2-again", "Level 2 again")
    draft = services.save_draft(actor=operator, workflow=wide, definition=fan_out("level-1"))
    with pytest.raises(Exception) as refused:
        services.publish_draft(actor=operator, draft=draft)
    assert [p.code for p in refused.value.problems] == ["too_many_steps"]


def test_a_run_that_would_expand_past_the_cap_is_refused_before_any_row_is_written(levels, operator, api):
    before = (Run.objects.count(), RunStep.objects.count())
    response = api(operator).post("/api/runs/", {"workflow": "level-4", "inputs": {}}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "too_many_steps"
    assert "runs 100,000 steps" in response.json()["message"]
    assert (Run.objects.count(), RunStep.objects.count()) == before


def test_max_steps_counts_the_expanded_steps(make_workflow, publish, operator):
    publish(make_workflow("three", "Three"), leaf(3))
    top = make_workflow("wrapper", "Wrapper")
    definition = {**fan_out("three", 1), "policy": {"budget": {"max_steps": 2}}}
    draft = services.save_draft(actor=operator, workflow=top, definition=definition)
    problems = services.validate_draft(draft=draft).problems
    assert [(p.code, p.path) for p in problems] == [("budget_exceeded", "policy.budget.max_steps")]
    assert "3 steps" in problems[0].message


# --- deep JSON and NUL characters ------------------------------------------------------


def nested(depth: int, leaf_value: Any = 0) -> Any:
    value = leaf_value
    for _ in range(depth):
        value = [value]
    return value


def test_deep_json_is_a_400_on_the_drafts_api(make_workflow, operator, api):
    workflow = make_workflow()
    body = '{"definition": {"inputs": {}, "steps": ' + "[" * 990 + "]" * 990 + "}}"
    response = api(operator).post(f"/api/workflows/{workflow.slug}/drafts/", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "too_deep"
    # Deeper than a definition may nest (32) but well within what parses: refused when saved.
    response = api(operator).post(
        f"/api/workflows/{workflow.slug}/drafts/", {"definition": {"steps": nested(40)}}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "too_deep"
    assert not Draft.objects.filter(workflow=workflow).exists()


def test_nul_characters_are_a_400_in_definitions_and_run_inputs(make_workflow, publish, operator, api):
    workflow = make_workflow()
    response = api(operator).post(
        f"/api/workflows/{workflow.slug}/drafts/",
        {"definition": {"steps": [{"id": "a\u0000b"}]}},
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_character"
    publish(workflow, small_definition())
    response = api(operator).post(
        "/api/runs/", {"workflow": workflow.slug, "inputs": {"subject": "a fox\u0000"}}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_character"
    # The same through a service, as the pages call it.
    with pytest.raises(Exception) as refused:
        run_services.start_run(actor=operator, workflow=workflow, inputs={"subject": "\u0000"})
    assert refused.value.problems[0].code == "invalid_character"
    assert not Run.objects.exists()


def test_deep_json_and_nul_on_the_draft_page_are_a_400(make_workflow, operator):
    workflow = make_workflow()
    draft = services.save_draft(actor=operator, workflow=workflow, definition={"steps": []})
    client = Client()
    client.force_login(operator)
    for text in ("[" * 990 + "]" * 990, json.dumps({"steps": nested(40)}), '{"steps": ["\\u0000"]}'):
        response = client.post(f"/drafts/{draft.pk}/", {"definition": text})
        assert response.status_code == 400
        live = client.post(f"/drafts/{draft.pk}/validate/", {"definition": text}, HTTP_HX_REQUEST="true")
        assert live.status_code == 200
    draft.refresh_from_db()
    assert draft.definition == {"steps": []}


def test_a_stored_draft_nested_900_deep_renders_a_small_page(make_workflow, operator, api):
    """Stored before the depth cap: indenting 40,000 values 900 levels deep made a 70 MB page."""
    workflow = make_workflow()
    draft = Draft.objects.create(workflow=workflow, author=operator, definition={"steps": nested(900, [0] * 40_000)})
    client = Client()
    client.force_login(operator)
    response = client.get(f"/drafts/{draft.pk}/")
    assert response.status_code == 200
    assert len(response.content) < 1_000_000
    assert b"nested more than" in response.content  # the validation names the problem
    assert api(operator).get(f"/api/drafts/{draft.pk}/validate/").json()["errors"][0]["code"] == "too_deep"
    # Read and written whole, however deep the request's stack already is (a test runner's or a
    # worker's is deeper than gunicorn's): asked from 150 frames down.
    detail = _from_deep_in_the_stack(150, lambda: api(operator).get(f"/api/drafts/{draft.pk}/"))
    assert detail.status_code == 200 and json.loads(detail.content)["definition"] == draft.definition


def _from_deep_in_the_stack(frames: int, call: Any) -> Any:
    return call() if frames == 0 else _from_deep_in_the_stack(frames - 1, call)


# --- pixels per step ------------------------------------------------------------------------


def test_a_step_over_the_pixel_limit_is_refused_at_publish_naming_the_parameter(make_workflow, operator):
    workflow = make_workflow()
    definition = small_definition(width=2048, height=2048)
    definition["steps"][1] = {
        "id": "big",
        "kind": "upscale",
        "model": "local/plasma",
        "params": {"image": "{{steps.background.output}}", "factor": 4},
    }
    definition["steps"].append(
        {
            "id": "moving",
            "kind": "animate",
            "model": "local/plasma",
            "params": {"prompt": "waves", "width": 1024, "height": 1024, "frames": 96},
        }
    )
    definition["outputs"] = {"hero": "{{steps.big.output}}"}
    draft = services.save_draft(actor=operator, workflow=workflow, definition=definition)
    problems = services.validate_draft(draft=draft).problems
    assert {(p.code, p.path) for p in problems} == {
        ("too_many_pixels", "steps[1].params.factor"),
        ("too_many_pixels", "steps[2].params.frames"),
    }
    assert any("8192×8192" in p.message for p in problems)


def test_input_dependent_sizes_are_checked_at_run_start(make_workflow, publish, operator, api, settings):
    settings.FLONIKS_MAX_STEP_PIXELS = 128 * 128
    workflow = make_workflow()
    definition = small_definition(width="{{inputs.width}}")
    definition["inputs"]["width"] = {"type": "integer", "required": True}
    definition["steps"][1]["params"]["image"] = "{{inputs.reference}}"
    definition["inputs"]["reference"]["required"] = True
    publish(workflow, definition)
    buf = io.BytesIO()
    Image.new("RGB", (200, 100), (200, 30, 40)).save(buf, "PNG")
    buf.seek(0)
    buf.name = "ref.png"
    sha = api(operator).post("/api/artifacts/", {"file": buf}, format="multipart").json()["sha256"]
    response = api(operator).post(
        "/api/runs/",
        {"workflow": workflow.slug, "inputs": {"subject": "fox", "width": 512, "reference": sha}},
        format="json",
    )
    assert response.status_code == 400, response.content
    paths = {p["path"] for p in response.json()["errors"] if p["code"] == "too_many_pixels"}
    assert paths == {"background.params.width", "styled.params.image"}
    assert not Run.objects.exists()
    settings.FLONIKS_MAX_STEP_PIXELS = 256 * 256
    response = api(operator).post(
        "/api/runs/",
        {"workflow": workflow.slug, "inputs": {"subject": "fox", "width": 96, "reference": sha}},
        format="json",
    )
    assert response.status_code == 201, response.content


# --- active runs per user -------------------------------------------------------------------


def test_the_active_run_quota_answers_429_and_leaves_others_alone(
    make_workflow, publish, operator, manager, api, settings
):
    settings.FLONIKS_MAX_ACTIVE_RUNS_PER_USER = 2
    workflow = make_workflow()
    publish(workflow, small_definition())
    start = {"workflow": workflow.slug, "inputs": {"subject": "fox"}}
    first = [api(operator).post("/api/runs/", start, format="json") for _ in range(2)]
    assert [r.status_code for r in first] == [201, 201]
    refused = api(operator).post("/api/runs/", start, format="json")
    assert refused.status_code == 429
    assert refused.json()["code"] == "quota_exceeded"
    assert "at most 2 at once" in refused.json()["message"]
    assert Run.objects.filter(created_by=operator).count() == 2
    assert api(manager).post("/api/runs/", start, format="json").status_code == 201  # someone else: unaffected
    run_now(Run.objects.get(pk=first[0].json()["id"]))  # one finishes: a slot is free again
    assert api(operator).post("/api/runs/", start, format="json").status_code == 201


def test_the_run_form_maps_the_quota_to_429(make_workflow, publish, operator, settings):
    settings.FLONIKS_MAX_ACTIVE_RUNS_PER_USER = 1
    workflow = make_workflow()
    publish(workflow, small_definition())
    run_services.start_run(actor=operator, workflow=workflow, inputs={"subject": "fox"})
    client = Client()
    client.force_login(operator)
    response = client.post(f"/workflows/{workflow.slug}/run/", {"input_subject": "fox"})
    assert response.status_code == 429
    assert b"at most 1 at once" in response.content


# --- list answers and the engine's memory ------------------------------------------------------


def test_run_lists_do_not_embed_step_lists(make_workflow, publish, operator, api):
    workflow = make_workflow()
    publish(workflow, small_definition())
    run = run_now(run_services.start_run(actor=operator, workflow=workflow, inputs={"subject": "fox"}))
    listed = api(operator).get("/api/runs/").json()["results"][0]
    assert "steps" not in listed and "specification" not in listed
    assert listed["id"] == str(run.pk) and listed["progress"] == 1.0
    assert listed["outputs"]["hero"]["sha256"] == run.steps.get(step_id="styled").output.sha256
    detail = api(operator).get(f"/api/runs/{run.pk}/").json()
    assert [s["id"] for s in detail["steps"]] == ["background", "styled"] and detail["specification"]


def test_a_worker_keeps_recent_outputs_within_a_byte_bound():
    """Outputs handed to later steps in memory are bounded in bytes, least recently used dropped first."""
    recent = RecentOutputs(capacity=10)
    recent.put("a" * 64, b"AAAA")
    recent.put("b" * 64, b"BBBB")
    assert recent.get("a" * 64) == b"AAAA"  # a is now the most recently used
    recent.put("c" * 64, b"CCCC")  # 12 bytes > 10: b goes, not a
    assert recent.get("b" * 64) is None and recent.get("a" * 64) == b"AAAA" and recent.get("c" * 64) == b"CCCC"
    recent.put("d" * 64, b"D" * 11)  # larger than the whole bound: never kept
    assert recent.get("d" * 64) is None
