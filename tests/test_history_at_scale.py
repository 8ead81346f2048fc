"""The history grid at 10^4 records (DESIGN §12's smallest size): the same exact query counts as the
pinned rows of tests/test_query_counts.py, which measure it against a handful of records, full pages
of cells, keyset pages (no OFFSET) and no record shown twice while paging. The records are generated
inside PostgreSQL by the builder bench/p3_history.py uses (testing/history.py), about a second's work."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.test import Client
from django.test.utils import CaptureQueriesContext

from runs_app.models import RecordModel, VersionRecord
from runs_app.pages import HISTORY_PAGE
from templates_app.catalogue import Catalogue
from testing.history import load
from tests.helpers import small_definition
from tests.test_query_counts import QUERY_COUNTS, REQUESTS

pytestmark = pytest.mark.django_db

RECORDS = 10_000
# Four records share each creation instant, so page boundaries fall inside ties the keyset must
# break by id. The generated labels are "v<number>-<word>-<word>".
PER_MINUTE = 4
LABEL = re.compile(r"<strong>v(\d+)-")
OLDER = re.compile(r'hx-get="(\?[^"]*cursor=[^"]+)"')


@pytest.fixture
def many(make_workflow, publish, operator) -> None:
    workflow = make_workflow("gallery", "Gallery")
    version = publish(workflow, small_definition())
    load(RECORDS, 0, workflow.pk, version.pk, operator.pk, per_minute=PER_MINUTE)
    assert VersionRecord.objects.count() == RECORDS


@pytest.fixture
def client(operator) -> Client:
    c = Client()
    c.force_login(operator)
    return c


def grid(client: Client, url: str, htmx: bool = False) -> tuple[str, list[int], list[str]]:
    """The page's HTML, the record numbers of its grid cells in order, and its SQL, from cold caches
    as tests/test_query_counts.py measures its rows."""
    Catalogue.forget()
    ContentType.objects.clear_cache()
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers={"HX-Request": "true"} if htmx else None)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="history-grid"' in html
    cells = html.split('data-testid="history-grid"')[1].split("</ul>")[0]
    numbers = [int(n) for n in LABEL.findall(cells)]
    assert cells.count('data-testid="grid-cell"') == len(numbers)
    return html, numbers, [q["sql"] for q in queries.captured_queries]


def older(html: str) -> str:
    found = OLDER.search(html)
    assert found is not None, "no Older link"
    assert "view=grid" in found.group(1)
    return "/records/" + found.group(1).replace("&amp;", "&")


def newest(count: int) -> list[int]:
    """The record numbers the history lists first, asked of the database without a cursor."""
    return list(VersionRecord.objects.order_by("-created_at", "-id").values_list("number", flat=True)[:count])


def no_offset(sql: list[str]) -> None:
    assert not [s for s in sql if re.search(r"\bOFFSET\b", s, re.I)]


def test_the_first_grid_page_at_ten_thousand_records(many, client):
    _, numbers, sql = grid(client, "/records/?view=grid")
    assert len(sql) == QUERY_COUNTS["GET history grid"]
    assert numbers == newest(HISTORY_PAGE)  # a full page of the newest, newest first
    assert set(numbers) >= set(range(RECORDS, RECORDS - HISTORY_PAGE + PER_MINUTE, -1))
    no_offset(sql)
    assert any(re.search(rf"\bLIMIT {HISTORY_PAGE + 1}\b", s) for s in sql)  # one page (and one to know of more)


def test_a_filtered_grid_page_at_ten_thousand_records(many, client):
    # The pinned row's filters (text, model, not approved), with a word the generated labels hold.
    pinned = urlsplit(REQUESTS["GET history grid filtered"]({}).path)
    params = dict(parse_qsl(pinned.query))
    assert set(params) == {"view", "q", "model", "approved"}
    params["q"] = "warm"
    html, numbers, sql = grid(client, f"{pinned.path}?{urlencode(params)}")
    assert len(sql) == QUERY_COUNTS["GET history grid filtered"]
    # What the filters mean, asked of the database another way: the newest page of the matches.
    matches = (
        VersionRecord.objects.filter(Q(label__icontains="warm") | Q(annotation__icontains="warm"))
        .filter(Exists(RecordModel.objects.filter(record=OuterRef("pk"), family=params["model"])))
        .filter(approved_at__isnull=True)
        .order_by("-created_at", "-id")
    )
    assert matches.count() > HISTORY_PAGE  # so a full page and an Older link
    assert numbers == list(matches.values_list("number", flat=True)[:HISTORY_PAGE])
    assert "cursor=" in older(html)
    no_offset(sql)


def test_paging_the_grid_through_five_cursors_at_ten_thousand_records(many, client):
    html, first, _ = grid(client, "/records/?view=grid")
    pages: list[tuple[list[int], list[str]]] = []
    for _ in range(5):  # "load more" five times, each from the cursor the page before gave
        html, numbers, sql = grid(client, older(html), htmx=True)
        assert "<html" not in html  # the fragment, not a whole page
        pages.append((numbers, sql))
    seen = first + [n for numbers, _ in pages for n in numbers]
    assert [len(numbers) for numbers, _ in pages] == [HISTORY_PAGE] * 5
    assert len(seen) == len(set(seen)), "a record shown twice"
    assert seen == newest(6 * HISTORY_PAGE), "a record skipped or out of order"
    # Every older page, the 3rd as much as the 1st, costs what the pinned row measures, and is a
    # keyset (strictly older than the last record shown, by time then id), not an OFFSET.
    assert [len(sql) for _, sql in pages] == [QUERY_COUNTS["GET history grid older"]] * 5
    for _, sql in pages:
        assert [s for s in sql if '"created_at" < ' in s and '"id" < ' in s], "no keyset condition"
        no_offset(sql)
