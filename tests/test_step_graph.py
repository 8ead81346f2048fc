"""The graph of a draft's steps (templates_app.step_graph): columns by depth, one edge per reference, broken
references drawn rather than raised, and the SVG on both draft views and in the form view's live validation."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from templates_app import services as templates
from templates_app.models import Draft
from templates_app.step_graph import layout


def step(sid: str, *reads: str, kind: str = "img2img") -> dict[str, Any]:
    params = {f"p{i}": f"{{{{{r}}}}}" for i, r in enumerate(reads)}
    return {"id": sid, "kind": kind, "model": "local/plasma", "params": params}


DIAMOND: dict[str, Any] = {
    "inputs": {"subject": {"type": "string"}},
    "steps": [
        step("a", "inputs.subject", kind="generate_image"),
        step("b", "steps.a.output"),
        step("c", "steps.a.output"),
        step("d", "steps.b.output", "steps.c.output"),
    ],
    "outputs": {"hero": "{{steps.d.output}}"},
    "policy": {"gates": [{"after": "b"}]},
}


def edges(graph) -> set[tuple[str | None, str, bool]]:
    return {(e.source.key if e.source else None, e.target.key, e.broken) for e in graph.edges}


def test_a_diamond_takes_three_columns_of_steps_between_inputs_and_outputs():
    graph = layout(DIAMOND)
    column = {n.key: n.column for n in graph.nodes}
    assert len({column[f"step:{s}"] for s in "abcd"}) == 3
    assert column["input:subject"] < column["step:a"] < column["step:b"] == column["step:c"] < column["step:d"]
    assert column["output:hero"] > column["step:d"]
    b, c = graph.node("step:b"), graph.node("step:c")
    assert b and c and (b.x, b.y) != (c.x, c.y)  # side by side in their column, not on top of each other
    assert edges(graph) == {
        ("input:subject", "step:a", False),
        ("step:a", "step:b", False),
        ("step:a", "step:c", False),
        ("step:b", "step:d", False),
        ("step:c", "step:d", False),
        ("step:d", "output:hero", False),
    }
    assert [n.label for n in graph.nodes if n.gated] == ["b"]
    assert graph.width >= max(n.x for n in graph.nodes) and graph.height >= max(n.y for n in graph.nodes)


def test_an_input_read_by_two_steps_gives_two_edges():
    graph = layout(
        {
            "inputs": {"reference": {"type": "image"}},
            "steps": [step("one", "inputs.reference"), step("two", "inputs.reference")],
            "outputs": {},
        }
    )
    assert [(e.source.key, e.target.key) for e in graph.edges if e.source] == [
        ("input:reference", "step:one"),
        ("input:reference", "step:two"),
    ]


def test_a_broken_reference_is_a_marked_dangling_edge_not_a_crash():
    graph = layout(
        {
            "inputs": {},
            "steps": [step("one", "inputs.missing"), step("two", "steps.later.output"), step("later")],
            "outputs": {"hero": "{{steps.nowhere.output}}", "odd": 3},
        }
    )
    assert edges(graph) == {
        (None, "step:one", True),
        (None, "step:two", True),  # a forward reference is no edge back in the drawing either
        (None, "output:hero", True),
        (None, "output:odd", True),
    }
    dangling = graph.edges[0]
    assert dangling.x1 < dangling.x2 and "M" in dangling.path


@pytest.mark.parametrize("junk", [None, [], "text", {"steps": "x"}, {"steps": [1, {"id": 3}], "inputs": [1]}])
def test_whatever_the_editor_holds_is_drawn_without_raising(junk):
    layout(junk)


# --- the pages ------------------------------------------------------------------------------


@pytest.fixture
def draft(make_workflow, operator) -> Draft:
    workflow = make_workflow("graph-job", "Graph job")
    return templates.save_draft(actor=operator, workflow=workflow, definition=DIAMOND)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/drafts/{}/", "/drafts/{}/form/"])
def test_both_draft_views_draw_one_box_per_step_and_an_arrow_per_reference(draft, operator, url):
    html = signed_in(operator).get(url.format(draft.pk)).content.decode()
    svg = html[html.index('id="step-graph"') :]
    svg = svg[: svg.index("</svg>")]
    assert svg.count('data-testid="graph-step"') == 4
    assert svg.count('data-testid="edge"') == 6
    assert 'data-from="step:a" data-to="step:b"' in svg
    assert 'class="node step gated"' in svg
    assert "style=" not in svg  # the CSP allows no inline style: colours come from base.css classes


FORM = {
    "inputs-count": 1,
    "input-0-name": "",
    "steps-count": 1,
    "step-0-id": "styled",
    "step-0-kind": "img2img",
    "step-0-model": "local/plasma",
    "step-0-param-image": "",
    "step-0-param-strength": "3",
    "outputs-count": 1,
    "output-0-name": "",
    "output-0-source": "",
}


@pytest.mark.django_db
def test_the_form_view_s_live_validation_answers_the_problem_at_its_field_without_saving(draft, operator):
    before = Draft.objects.get(pk=draft.pk).definition
    response = signed_in(operator).post(f"/drafts/{draft.pk}/form/validate/", FORM, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    slot = re.search(
        r'<div class="problem-slot" id="problems-step-0-param-strength" hx-swap-oob="true">(.*?)</div>\s*</div>',
        html,
        re.S,
    )
    assert slot and "at most 1" in slot.group(1)
    assert 'data-testid="validation-state"' in html  # the validation card, as the JSON editor's answers it
    assert 'id="step-graph" data-testid="step-graph" hx-swap-oob="true"' in html
    assert Draft.objects.get(pk=draft.pk).definition == before
    fixed = signed_in(operator).post(
        f"/drafts/{draft.pk}/form/validate/", {**FORM, "step-0-param-strength": "0.5"}, HTTP_HX_REQUEST="true"
    )
    empty = re.search(r'id="problems-step-0-param-strength" hx-swap-oob="true">(.*?)</div>', fixed.content.decode())
    assert empty and empty.group(1) == ""  # the slot is re-rendered empty, so the old message goes


@pytest.mark.django_db
def test_every_problem_slot_the_live_validation_answers_is_on_the_form_page(draft, operator):
    client = signed_in(operator)
    page = client.get(f"/drafts/{draft.pk}/form/").content.decode()
    answer = client.post(
        f"/drafts/{draft.pk}/form/validate/",
        {
            "inputs-count": 2,
            "input-0-name": "subject",
            "input-0-type": "string",
            "input-1-name": "",
            "steps-count": 4,
            **{
                f"step-{i}-{k}": v
                for i, s in enumerate(DIAMOND["steps"])
                for k, v in s.items()
                if k in ("id", "kind", "model")
            },
            "outputs-count": 2,
            "output-0-name": "hero",
            "output-0-source": "{{steps.d.output}}",
            "output-1-name": "",
        },
        HTTP_HX_REQUEST="true",
    ).content.decode()
    slots = re.findall(r'id="(problems-[^"]+)" hx-swap-oob', answer)
    assert len(slots) > 10
    missing = [s for s in slots if f'id="{s}"' not in page]
    assert missing == []


@pytest.mark.django_db
def test_the_json_editor_s_live_validation_redraws_the_graph_out_of_band(draft, operator):
    text = json.dumps({**DIAMOND, "steps": DIAMOND["steps"][:2]})
    response = signed_in(operator).post(f"/drafts/{draft.pk}/validate/", {"definition": text}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="step-graph" data-testid="step-graph" hx-swap-oob="true"' in html
    assert html.count('data-testid="graph-step"') == 2
    page = signed_in(operator).get(f"/drafts/{draft.pk}/").content.decode()
    assert page.count(' id="step-graph"') == 1  # the whole page draws it once, in its card
