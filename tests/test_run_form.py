"""The run form and an input's declaration: the default it declares is filled in, its description
is shown under the field, and a form sent back with errors shows what was sent. Pages in general:
tests/test_pages.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from runs_app.models import Run
from tests.helpers import small_definition

pytestmark = pytest.mark.django_db


class _FormReader(HTMLParser):
    """What a browser would send for a form nobody touched: text and number inputs with their
    value, ticked checkboxes as "on"; files are left out (none chosen)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: dict[str, str] = {}
        self.help: dict[str, str] = {}  # id of a help text → its text
        self._help_id: str | None = None
        self._select = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") != "file":
            if a.get("type") != "checkbox":
                self.sent[a["name"] or ""] = a.get("value") or ""
            elif "checked" in a:
                self.sent[a["name"] or ""] = "on"
        elif tag == "select" and a.get("name"):
            self._select = a["name"] or ""
        elif tag == "option" and "selected" in a:
            self.sent[self._select] = a.get("value") or ""
        elif tag == "div" and a.get("class") == "help" and a.get("id"):
            self._help_id = a["id"]

    def handle_data(self, data: str) -> None:
        if self._help_id:
            self.help[self._help_id] = self.help.get(self._help_id, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "div":
            self._help_id = None


def test_the_run_form_shows_each_input_s_default_and_description_and_runs_with_the_defaults(
    make_workflow, publish, operator
):
    workflow = make_workflow("poster", "Poster")
    d = small_definition()
    d["inputs"] = {
        "subject": {
            "type": "string",
            "required": True,
            "default": "a lighthouse at dusk",
            "description": "What it shows.",
        },
        "vivid": {"type": "boolean", "default": True, "description": "Saturated colours."},
        "grain": {"type": "integer", "default": 5, "description": {"unit": "percent"}},
        "reference": {"type": "image", "description": "A photo to start from."},
    }
    publish(workflow, d)
    client = Client()
    client.force_login(operator)
    form = _FormReader()
    page = client.get("/workflows/poster/run/")
    form.feed(page.content.decode())
    assert form.sent["input_subject"] == "a lighthouse at dusk"
    assert form.sent["input_vivid"] == "on" and form.sent["input_grain"] == "5"
    assert form.help == {
        "help_subject": "What it shows.",
        "help_vivid": "Saturated colours.",
        "help_grain": '{"unit": "percent"}',
        "help_reference": "A photo to start from.",
    }
    assert b'aria-describedby="help_subject"' in page.content
    # A required input with a default may be emptied: the run takes the default, so the browser must not refuse.
    assert not re.search(rb'<input[^>]*id="input_subject"[^>]*\brequired\b', page.content)

    answer = client.post("/workflows/poster/run/", form.sent)
    assert answer.status_code == 302
    run = Run.objects.get(workflow=workflow)
    assert run.inputs == {"subject": "a lighthouse at dusk", "vivid": True, "grain": 5}


def test_a_run_form_sent_back_with_an_error_shows_what_was_sent_not_the_defaults(make_workflow, publish, operator):
    workflow = make_workflow("poster", "Poster")
    d = small_definition()
    d["inputs"] = {
        "subject": {"type": "string", "required": True},
        "vivid": {"type": "boolean", "default": True},
        "sharp": {"type": "boolean", "default": False},
        "grain": {"type": "integer", "default": 5},
    }
    publish(workflow, d)
    client = Client()
    client.force_login(operator)
    # Vivid unticked, sharp ticked, and a grain that is no number.
    answer = client.post(
        "/workflows/poster/run/", {"input_subject": "an owl", "input_sharp": "on", "input_grain": "lots"}
    )
    assert answer.status_code == 400 and b"&#x27;lots&#x27; is not a integer." in answer.content
    form = _FormReader()
    form.feed(answer.content.decode())
    assert form.sent["input_subject"] == "an owl" and form.sent["input_grain"] == "lots"
    assert "input_vivid" not in form.sent and form.sent["input_sharp"] == "on"  # the boxes as they were sent
    assert not Run.objects.filter(workflow=workflow).exists()
