"""The draft editor's form view (templates_app.builder, /drafts/<id>/form/): the form read back as a
definition, the page saving through the same service as the JSON editor, choices limited to what can be
referenced, the gate's problems shown at their fields, and the new-workflow page's starting templates."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.http import QueryDict
from django.test import Client

from templates_app import builder
from templates_app import services as templates
from templates_app.catalogue import Catalogue
from templates_app.models import Draft, Workflow

pytestmark = pytest.mark.django_db


def form(fields: dict[str, Any]) -> QueryDict:
    q = QueryDict(mutable=True)
    for key, value in fields.items():
        q[key] = str(value)
    return q


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def step_fields(i: int, sid: str, kind: str, model: str, **params: Any) -> dict[str, Any]:
    return {
        f"step-{i}-id": sid,
        f"step-{i}-kind": kind,
        f"step-{i}-model": model,
        **{f"step-{i}-param-{k}": v for k, v in params.items()},
    }


TWO_STEPS = {
    "inputs-count": 2,
    "input-0-name": "subject",
    "input-0-type": "string",
    "input-0-required": "on",
    "input-0-description": "What to show",
    "input-1-name": "",  # the blank row adds nothing
    "steps-count": 2,
    **step_fields(0, "background", "generate_image", "local/plasma", prompt="{{inputs.subject}}", width="96"),
    **step_fields(
        1, "styled", "img2img", "local/mosaic@2026-08-30", image="{{steps.background.output}}", strength="0.4"
    ),
    "outputs-count": 2,
    "output-0-name": "hero",
    "output-0-source": "{{steps.styled.output}}",
    "output-1-name": "",
    "output-1-source": "",
}
TWO_STEPS_DEFINITION = {
    "inputs": {"subject": {"type": "string", "required": True, "description": "What to show"}},
    "steps": [
        {
            "id": "background",
            "kind": "generate_image",
            "model": "local/plasma",
            "params": {"prompt": "{{inputs.subject}}", "width": 96},
        },
        {
            "id": "styled",
            "kind": "img2img",
            "model": "local/mosaic@2026-08-30",
            "params": {"image": "{{steps.background.output}}", "strength": 0.4},
        },
    ],
    "outputs": {"hero": "{{steps.styled.output}}"},
}


# --- the form → definition function, one parameter type at a time -----------------------------


def one_step(kind: str, **params: Any) -> dict[str, Any]:
    definition = builder.form_to_definition(
        form({"steps-count": 1, **step_fields(0, "a", kind, "local/plasma", **params)})
    )
    return definition["steps"][0]["params"]


def test_a_text_parameter_is_kept_as_typed_with_its_spaces():
    assert one_step("generate_image", prompt=" a fox, {{inputs.subject}} ") == {"prompt": " a fox, {{inputs.subject}} "}


def test_an_integer_parameter_becomes_a_whole_number():
    assert one_step("generate_image", steps="40", width="512") == {"steps": 40, "width": 512}


def test_a_number_parameter_becomes_a_float():
    assert one_step("img2img", strength="0.25", guidance_scale="8") == {"strength": 0.25, "guidance_scale": 8.0}


def test_a_choice_parameter_keeps_its_declared_type():
    assert one_step("upscale", factor="3") == {"factor": 3}
    assert one_step("generate_image", scheduler="ddim") == {"scheduler": "ddim"}


def test_an_image_parameter_is_the_chosen_reference():
    assert one_step("img2img", image="{{inputs.reference}}") == {"image": "{{inputs.reference}}"}


def test_an_empty_field_is_left_out_so_the_default_applies():
    assert one_step("img2img", image="", strength="", prompt="") == {}


def test_a_number_bound_to_an_input_and_unparsable_text_are_kept_for_the_gate_to_judge():
    assert one_step("generate_image", steps="{{inputs.quality}}", width="wide") == {
        "steps": "{{inputs.quality}}",
        "width": "wide",
    }


def test_inputs_are_typed_by_their_declared_type():
    definition = builder.form_to_definition(
        form(
            {
                "inputs-count": 4,
                **{f"input-{i}-name": n for i, n in enumerate(["n", "x", "flag", "label"])},
                **{f"input-{i}-type": t for i, t in enumerate(["integer", "number", "boolean", "string"])},
                **{f"input-{i}-default": v for i, v in enumerate(["3", "0.5", "true", " 7 "])},
            }
        )
    )
    assert definition["inputs"] == {
        "n": {"type": "integer", "default": 3},
        "x": {"type": "number", "default": 0.5},
        "flag": {"type": "boolean", "default": True},
        "label": {"type": "string", "default": " 7 "},
    }


def test_what_the_form_does_not_edit_survives_a_round_trip_through_it():
    """Policies and a sub-workflow step ride along in hidden fields: saving the form loses none of them."""
    definition = {
        "inputs": {},
        "steps": [
            {
                "id": "a",
                "kind": "generate_image",
                "model": "local/plasma",
                "params": {"prompt": "x"},
                "policy": {"retries": 1},
            },
            {"id": "sub", "kind": "subworkflow", "workflow": "overlay", "inputs": {"image": "{{steps.a.output}}"}},
        ],
        "outputs": {"hero": "{{steps.sub.outputs.image}}"},
        "policy": {"budget": {"max_steps": 10}},
    }
    assert builder.form_to_definition(posted(builder.build(definition, Catalogue.load()))) == definition


def posted(b: builder.Builder) -> QueryDict:
    """What a browser posts for a rendered form view (each field at its shown value)."""
    fields: dict[str, Any] = {
        "policy": b.policy,
        "inputs-count": len(b.inputs),
        "steps-count": len(b.steps),
        "outputs-count": len(b.outputs),
    }
    for row in b.inputs:
        fields.update({f"input-{row.index}-name": row.name, f"input-{row.index}-type": row.type})
        fields.update({f"input-{row.index}-default": row.default, f"input-{row.index}-description": row.description})
        fields[f"input-{row.index}-keys"] = row.keys
        if row.required:
            fields[f"input-{row.index}-required"] = "on"
    for card in b.steps:
        fields.update(step_fields(card.index, card.id, card.kind, card.model, **{f.name: f.value for f in card.params}))
        fields[f"step-{card.index}-extra"] = card.extra
    for out in b.outputs:
        fields.update({f"output-{out.index}-name": out.name, f"output-{out.index}-source": out.source})
    return form(fields)


# --- the page ----------------------------------------------------------------------------------


@pytest.fixture
def draft(make_workflow, operator) -> Draft:
    workflow = make_workflow("builder-job", "Builder job")
    return templates.save_draft(
        actor=operator, workflow=workflow, definition={"inputs": {}, "steps": [], "outputs": {}}
    )


def test_posting_the_form_for_a_two_step_workflow_saves_the_expected_definition(draft, operator):
    response = signed_in(operator).post(f"/drafts/{draft.pk}/form/", {**TWO_STEPS, "op": "save"})
    assert response.status_code == 302 and response["Location"] == f"/drafts/{draft.pk}/form/"
    draft.refresh_from_db()
    assert draft.definition == TWO_STEPS_DEFINITION
    page = signed_in(operator).get(response["Location"]).content.decode()
    assert "ready to publish" in page  # the gate accepts what the form built


def select_options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def test_an_image_parameter_offers_image_inputs_and_earlier_steps_only(draft, operator):
    definition = {
        "inputs": {"reference": {"type": "image"}, "subject": {"type": "string"}},
        "steps": [
            {"id": "first", "kind": "generate_image", "model": "local/plasma", "params": {"prompt": "x"}},
            {"id": "second", "kind": "img2img", "model": "local/plasma", "params": {"image": "{{steps.first.output}}"}},
            {"id": "third", "kind": "img2img", "model": "local/plasma", "params": {"image": "{{steps.second.output}}"}},
        ],
        "outputs": {},
    }
    templates.update_draft(actor=operator, draft=draft, definition=definition)
    html = signed_in(operator).get(f"/drafts/{draft.pk}/form/").content.decode()
    assert select_options(html, "step-1-param-image") == ["", "{{inputs.reference}}", "{{steps.first.output}}"]
    assert "{{steps.third.output}}" not in select_options(html, "step-1-param-image")  # no forward reference
    assert select_options(html, "step-2-param-image")[-1] == "{{steps.second.output}}"


def test_a_gate_problem_is_shown_by_the_field_it_concerns(draft, operator):
    broken = json.loads(json.dumps(TWO_STEPS_DEFINITION))
    broken["steps"][1]["params"]["strength"] = 1.5
    templates.update_draft(actor=operator, draft=draft, definition=broken)
    html = signed_in(operator).get(f"/drafts/{draft.pk}/form/").content.decode()
    shown = re.search(r'data-testid="error-step-1-param-strength">([^<]*)<', html)
    assert shown and "at most 1" in shown.group(1)
    field = html[html.index('id="step-1-param-strength"') : html.index('data-testid="error-step-1-param-strength"')]
    assert "</section>" not in field  # in the strength field's own block of the second card


def test_changing_the_kind_re_renders_the_card_s_parameters_without_saving(draft, operator):
    fields = {**TWO_STEPS, "step-1-kind": "upscale", "op": "kind"}
    response = signed_in(operator).post(f"/drafts/{draft.pk}/form/", fields, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html  # the fragment
    assert 'name="step-1-param-factor"' in html and 'name="step-1-param-strength"' not in html
    assert select_options(html, "step-1-param-image") == ["", "{{steps.background.output}}"]
    assert 'value="{{steps.background.output}}" selected' in html  # the chosen image carries over
    draft.refresh_from_db()
    assert draft.definition["steps"] == []


def test_add_move_and_remove_steps(draft, operator):
    client = signed_in(operator)
    html = client.post(f"/drafts/{draft.pk}/form/", {**TWO_STEPS, "op": "add"}).content.decode()
    assert 'name="step-2-id" value="step3"' in html
    assert 'value="{{steps.styled.output}}" selected' in html  # the new step reads the last one
    html = client.post(f"/drafts/{draft.pk}/form/", {**TWO_STEPS, "op": "up-1"}).content.decode()
    assert html.index('value="styled"') < html.index('value="background"')
    html = client.post(f"/drafts/{draft.pk}/form/", {**TWO_STEPS, "op": "remove-0"}).content.decode()
    assert 'value="background"' not in html and 'name="step-0-id" value="styled"' in html
    draft.refresh_from_db()
    assert draft.definition["steps"] == []  # structural edits are saved with the form, not on their own


def test_switching_views_keeps_what_was_typed(draft, operator):
    client = signed_in(operator)
    response = client.post(f"/drafts/{draft.pk}/form/", {**TWO_STEPS, "op": "json"})
    assert response["Location"] == f"/drafts/{draft.pk}/"
    assert "styled" in client.get(response["Location"]).content.decode()  # in the JSON textarea
    typed = {**TWO_STEPS_DEFINITION, "outputs": {"final": "{{steps.background.output}}"}}
    response = client.post(f"/drafts/{draft.pk}/", {"definition": json.dumps(typed), "then": "form"})
    assert response["Location"] == f"/drafts/{draft.pk}/form/"
    html = client.get(response["Location"]).content.decode()
    assert 'name="output-0-name" value="final"' in html


def test_publishing_from_the_form_view_publishes_what_is_on_screen(draft, operator):
    response = signed_in(operator).post(f"/drafts/{draft.pk}/publish/", {**TWO_STEPS, "visibility": "internal"})
    assert response.status_code == 302
    workflow = Workflow.objects.get(pk=draft.workflow_id)
    assert workflow.canonical_version and workflow.canonical_version.definition == TWO_STEPS_DEFINITION


# --- starting templates --------------------------------------------------------------------------


@pytest.mark.parametrize("starter", ["text_to_image", "image_to_image"])
def test_a_new_workflow_starts_from_a_template_that_passes_the_gate(operator, starter):
    response = signed_in(operator).post("/workflows/new/", {"slug": "fresh", "name": "Fresh", "starter": starter})
    draft = Draft.objects.get(workflow__slug="fresh")
    assert response["Location"] == f"/drafts/{draft.pk}/form/"
    assert draft.definition == builder.starter_definition(starter, Catalogue.load())
    assert templates.validate_draft(draft=draft).valid


def test_a_new_direction_starts_from_the_base_s_canonical_version(operator, make_workflow, publish):
    base = make_workflow("base-job", "Base")
    version = publish(base, TWO_STEPS_DEFINITION)
    response = signed_in(operator).post(
        "/workflows/new/",
        {"slug": "base-warm", "name": "Warm", "starter": "direction", "base": "base-job", "direction_label": "Warm"},
    )
    draft = Draft.objects.get(workflow__slug="base-warm")
    assert response["Location"] == f"/drafts/{draft.pk}/form/"
    assert draft.definition == version.definition and draft.workflow.derived_from_version == version


def test_a_taken_slug_creates_neither_workflow_nor_draft(operator, make_workflow):
    make_workflow("taken", "Taken")
    response = signed_in(operator).post("/workflows/new/", {"slug": "taken", "name": "x", "starter": "text_to_image"})
    assert response.status_code == 400 and "already taken" in response.content.decode()
    assert not Draft.objects.filter(workflow__slug="taken").exists()


@pytest.mark.parametrize("starter", ["text_to_image", "image_to_image"])
def test_saving_the_form_unchanged_keeps_the_definition_as_it_was(starter):
    """An input's explicit `required: false` or empty default is not dropped by opening and saving the form."""
    definition = builder.starter_definition(starter, Catalogue.load())
    definition["inputs"]["count"] = {"type": "integer", "required": False}
    definition["inputs"]["flag"] = {"type": "boolean"}
    assert builder.form_to_definition(posted(builder.build(definition, Catalogue.load()))) == definition


def test_a_problem_at_a_field_the_form_does_not_show_is_shown_above_the_form(draft, operator):
    """An unknown parameter has no field of its own: its problem must not disappear."""
    broken = json.loads(json.dumps(TWO_STEPS_DEFINITION))
    broken["steps"][1]["params"]["colour"] = "red"
    templates.update_draft(actor=operator, draft=draft, definition=broken)
    html = signed_in(operator).get(f"/drafts/{draft.pk}/form/").content.decode()
    assert 'data-testid="form-error-general"' in html and "colour" in html.split('id="editor"')[1]


def test_a_direction_without_a_base_is_refused_on_the_form(operator):
    response = signed_in(operator).post(
        "/workflows/new/", {"slug": "orphan", "name": "Orphan", "starter": "direction", "direction_label": "Warm"}
    )
    assert response.status_code == 400 and "Choose the workflow to take a direction of." in response.content.decode()
    assert not Workflow.objects.filter(slug="orphan").exists()
