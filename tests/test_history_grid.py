"""The history as a grid of images (?view=grid) beside the table, and the images every page that
shows outputs marks for the full-screen viewer (static/floniks/viewer.js; in a browser:
tests/test_browser.py). Its query counts and keyset pages: tests/test_query_counts.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from runs_app import pages, services
from tests.helpers import finished_record, run_now, small_definition

pytestmark = pytest.mark.django_db


class Cells(HTMLParser):
    """Each grid cell's text, links and images; every <img>; the filter form's hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, Any]] = []
        self.images: list[dict[str, str | None]] = []
        self.hidden: dict[str, str | None] = {}
        self.toggle: dict[str, str] = {}
        self.in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("data-testid") == "grid-cell":
            self.in_cell = True
            self.cells.append({"text": "", "links": [], "images": []})
        if tag == "img":
            self.images.append(found)
            if self.in_cell:
                self.cells[-1]["images"].append(found)
        if tag == "a" and self.in_cell:
            self.cells[-1]["links"].append(found.get("href"))
        if tag == "a" and found.get("data-testid") in ("view-table", "view-grid"):
            self.toggle[str(found["data-testid"])] = str(found.get("href")).replace("&amp;", "&")
        if tag == "input" and found.get("type") == "hidden":
            self.hidden[str(found.get("name"))] = found.get("value")

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self.in_cell = False

    def handle_data(self, data: str) -> None:
        if self.in_cell:
            self.cells[-1]["text"] += data


def parsed(response: Any) -> Cells:
    assert response.status_code == 200
    cells = Cells()
    cells.feed(response.content.decode())
    return cells


@pytest.fixture
def world(make_workflow, publish, operator, manager) -> dict[str, Any]:
    campaign = make_workflow("campaign", "Campaign")
    publish(campaign, small_definition())
    poster = make_workflow("poster", "Poster")
    publish(poster, small_definition())
    fox = finished_record(operator, campaign, label="fox look")
    hare = finished_record(operator, poster, inputs={"subject": "a hare"}, label="hare look")
    services.approve_record(actor=manager, record=hare)
    return {"fox": fox, "hare": hare}


@pytest.fixture
def client(operator) -> Client:
    c = Client()
    c.force_login(operator)
    return c


def test_the_grid_shows_each_record_s_image_label_workflow_and_approval(world, client):
    page = parsed(client.get("/records/?view=grid"))
    assert b'data-testid="history"' not in client.get("/records/?view=grid").content  # no table beside it
    assert len(page.cells) == 2
    hare, fox = page.cells  # newest first, as in the table
    for cell, record, workflow in ((fox, world["fox"], "campaign"), (hare, world["hare"], "poster")):
        sha = record.outputs["hero"]["sha256"]
        assert cell["images"] == [
            {
                "class": "gallery-thumb",
                "src": f"/artifacts/{sha}/thumb",
                "alt": record.label,
                "loading": "lazy",
                "data-viewer": None,
                "data-full": f"/artifacts/{sha}",
                "data-caption": f"{record.label} · {workflow}",
            }
        ]
        assert f"/records/{record.pk}/" in cell["links"]
        assert record.label in cell["text"] and workflow in cell["text"]
    assert "approved" in hare["text"] and "not approved" not in hare["text"]
    assert "not approved" in fox["text"]


def test_the_table_stays_the_default_view(world, client):
    page = client.get("/records/")
    assert b'data-testid="history"' in page.content and b'data-testid="grid-cell"' not in page.content
    assert parsed(page).toggle == {"view-table": "?", "view-grid": "?view=grid"}


def test_the_toggle_keeps_the_filters_both_ways(world, client):
    table = parsed(client.get("/records/?q=hare&workflow=poster"))
    assert table.toggle["view-grid"] == "?q=hare&workflow=poster&view=grid"
    assert "view" not in table.hidden
    grid = parsed(client.get("/records/" + table.toggle["view-grid"]))
    assert [c["text"].count(world["hare"].label) for c in grid.cells] == [1]  # still filtered: no fox
    assert grid.hidden["view"] == "grid"  # so searching again from the filters stays in the grid
    assert grid.toggle["view-table"] == "?q=hare&workflow=poster"


def test_searching_from_the_grid_answers_a_grid_fragment(world, client):
    response = client.get("/records/?view=grid&q=fox", headers={"HX-Request": "true"})
    assert b"<html" not in response.content
    assert [world["fox"].label in c["text"] for c in parsed(response).cells] == [True]


def test_the_grid_s_load_more_is_a_grid_fragment_of_the_next_page(world, client, monkeypatch):
    monkeypatch.setattr(pages, "HISTORY_PAGE", 1)
    first = client.get("/records/?view=grid&q=look")
    older = re.search(rb'hx-get="(\?[^"]+)"', first.content)
    assert older is not None
    url = older.group(1).decode().replace("&amp;", "&")
    assert "view=grid" in url and "q=look" in url and "cursor=" in url
    fragment = client.get("/records/" + url, headers={"HX-Request": "true"})
    assert b"<html" not in fragment.content and b'data-testid="history-grid"' in fragment.content
    assert [c["text"].count(world["fox"].label) for c in parsed(fragment).cells] == [1]
    assert [c["text"].count(world["hare"].label) for c in parsed(first).cells] == [1]
    assert b"hx-get" not in fragment.content  # the last page: nothing older


def test_no_record_is_said_in_the_grid_too(world, client):
    response = client.get("/records/?view=grid&q=nothing-like-this")
    assert parsed(response).cells == [] and b"No record matches." in response.content


def viewable(response: Any) -> list[str | None]:
    return [img.get("data-full") for img in parsed(response).images if "data-viewer" in img]


def test_every_page_with_outputs_marks_its_images_for_the_viewer(world, client, operator, make_workflow, publish):
    fox, hare = world["fox"], world["hare"]
    fox_original, hare_original = fox.outputs["hero"]["url"], hare.outputs["hero"]["url"]
    assert viewable(client.get(f"/records/{fox.pk}/")) == [fox_original]
    assert viewable(client.get(f"/runs/{fox.run_id}/")) == [fox_original]
    assert viewable(client.get("/records/")) == [hare_original, fox_original]  # the table's thumbnails too
    compared = viewable(client.get(f"/records/compare/?a={fox.pk}&b={hare.pk}"))
    assert compared[:3] == [
        fox_original,
        hare_original,
        f"/records/compare/diff.png?a={fox.pk}&b={hare.pk}&output=hero",
    ]
    waiting = run_now(services.start_run(actor=operator, workflow=fox.workflow, inputs={"subject": "owl"}))
    assert len(viewable(client.get(f"/runs/{waiting.pk}/"))) == 1


def test_the_viewer_script_is_on_every_page(client):
    html = client.get("/accounts/login/").content.decode()
    assert re.search(r'<script src="[^"]*floniks/viewer\.js" defer></script>', html)
