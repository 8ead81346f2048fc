"""The words a first-time user reads: no raw ids or codes where a sentence belongs, one spelling of
"finalized", clear refusals with the right article, a contract change that says what to do."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from django.test import Client

from runs_app import services as runs
from runs_app.models import Run, RunStatus
from templates_app.models import Draft
from tests.helpers import finished_record, small_definition, valid_definition

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def visible_text(content: bytes) -> str:
    """What a reader sees: the page without its tags and attributes, entities decoded, spaces squeezed."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def section(content: bytes, testid: str) -> bytes:
    found = re.search(rb'<table data-testid="' + testid.encode() + rb'">.*?</table>', content, flags=re.S)
    assert found is not None, f"no table {testid}"
    return found.group(0)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def campaign(make_workflow, publish, operator, manager):
    workflow = make_workflow()
    publish(workflow, small_definition())
    records = [finished_record(operator, workflow, inputs={"subject": s}, label=s) for s in ("fox", "hare")]
    for record in records:
        runs.approve_record(actor=manager, record=record)
    return {"workflow": workflow, "records": records}


def test_the_pointer_history_names_the_pinned_record_and_links_to_it(campaign, operator):
    workflow, (fox, hare) = campaign["workflow"], campaign["records"]
    client = signed_in(operator)
    url = f"/workflows/{workflow.slug}/do/mode/"
    client.post(url, {"mode": "production", "pin_record": str(fox.pk), "reason": "launch day"})
    client.post(url, {"mode": "production", "pin_record": str(hare.pk), "reason": "client chose the hare"})
    page = client.get(f"/workflows/{workflow.slug}/").content
    pinned = re.search(
        rb'<a href="/records/' + str(hare.pk).encode() + rb'/" data-testid="pinned-record">([^<]*)</a>', page
    )
    assert pinned is not None and pinned.group(1).decode() == f"{hare.label} #{hare.number}"  # the Mode card
    table = section(page, "pointer-history")
    text = visible_text(table)
    assert str(fox.pk) not in text and str(hare.pk) not in text  # no raw UUID to read
    assert f"{fox.label} #{fox.number} → {hare.label} #{hare.number}" in text
    assert f'href="/records/{hare.pk}/"'.encode() in table and f'href="/records/{fox.pk}/"'.encode() in table
    assert "production_pin" not in text and "production pin" in text


def test_a_record_flagged_as_needing_a_legacy_model_says_so_in_words(campaign, operator):
    fox = campaign["records"][0]
    client = signed_in(operator)
    client.post(f"/records/{fox.pk}/flag-legacy/", {"reason": ""})
    text = visible_text(section(client.get(f"/records/{fox.pk}/").content, "checks"))
    assert "legacy_required" not in text
    assert "Needs a legacy model" in text


def test_validation_problems_are_sentences_without_their_codes(make_workflow, publish, operator):
    workflow = make_workflow()
    publish(workflow)
    draft = Draft.objects.create(workflow=workflow, definition=valid_definition(), author=operator)
    broken = valid_definition()
    broken["steps"][0]["params"]["prompt"] = "{{steps.nowhere.output}}"
    shown = signed_in(operator).post(
        f"/drafts/{draft.pk}/validate/", {"definition": json.dumps(broken)}, HTTP_HX_REQUEST="true"
    )
    problems = re.search(rb'data-testid="problems">.*?</ul>', shown.content, flags=re.S)
    assert problems is not None
    text = visible_text(problems.group(0))
    assert "unresolved_reference" not in text and "nowhere" in text


def test_finalized_has_one_spelling_in_pages_and_messages(campaign, operator, outsider, api):
    fox = campaign["records"][0]
    client = signed_in(operator)
    pages = [client.get(f"/runs/{fox.run_id}/"), client.get("/records/"), client.get("/")]
    assert Run.objects.get(pk=fox.run_id).status == RunStatus.FINALIZED
    assert "Finalized" in visible_text(pages[0].content)  # the status badge of the finalized run
    for response in pages:
        assert not re.search(r"finalis", visible_text(response.content), flags=re.I), response.request["PATH_INFO"]
    for template in TEMPLATES.rglob("*.html"):
        assert not re.search(r"finalis", template.read_text(), flags=re.I), template
    refused = api(outsider).post(f"/api/runs/{fox.run_id}/finalize/", {"label": "x", "annotation": "y"})
    assert refused.status_code in (403, 404)
    assert "finalis" not in refused.content.decode().lower()


def test_a_contract_change_says_what_changed_and_what_to_do(make_workflow, publish, operator):
    workflow = make_workflow()
    publish(workflow)
    draft = Draft.objects.create(workflow=workflow, definition=valid_definition(), author=operator)
    changed = valid_definition()
    changed["steps"][0]["params"]["prompt"] = "{{inputs.subject}}, a new look"
    changed["inputs"].update(palette={"type": "string", "required": True})
    shown = signed_in(operator).post(
        f"/drafts/{draft.pk}/validate/", {"definition": json.dumps(changed)}, HTTP_HX_REQUEST="true"
    )
    text = visible_text(shown.content)
    assert "That is a new job" not in text and "Make it optional. " not in text
    assert "New input 'palette' is required" in text
    assert "Make 'palette' optional, or spawn a sibling workflow" in text
    assert "Spawn sibling workflow" in text


def test_refusals_put_the_right_article_before_a_role(campaign, operator, outsider):
    fox = campaign["records"][0]
    # An operator-only action as an account with no role: the 403 page says who may.
    nobody = signed_in(outsider).post(f"/records/{fox.pk}/reproduce/")
    assert nobody.status_code == 403
    text = visible_text(nobody.content)
    assert "an operator" in text and "a operator" not in text and "a admin" not in text
    # A manager-only action as an operator.
    owl = finished_record(operator, campaign["workflow"], label="owl")
    refused = signed_in(operator).post(f"/records/{owl.pk}/approve/")
    assert refused.status_code == 403
    assert "Only a manager or above may approve version records." in visible_text(refused.content)


def test_a_pin_older_than_the_listed_approved_records_is_named_with_one_lookup(
    campaign, operator, django_assert_num_queries
):
    from composition.pages import _name_pinned_records
    from templates_app.models import Pointer, PointerMove

    workflow, (fox, hare) = campaign["workflow"], campaign["records"]
    runs.set_workflow_mode(actor=operator, workflow=workflow, mode="production", pin_record=fox)
    runs.set_workflow_mode(actor=operator, workflow=workflow, mode="production", pin_record=hare)
    history = [m for m in PointerMove.objects.for_workflow(workflow) if m.pointer == Pointer.PRODUCTION_PIN]
    with django_assert_num_queries(1):  # none of them among the approved records the page listed
        _name_pinned_records(history, [], hare.pk)
    named = [(m.from_record and m.from_record["label"], m.to_record["label"]) for m in history]
    assert named == [(fox.label, hare.label), (None, fox.label)]
