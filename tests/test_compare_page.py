"""The compare page with two to four records: one column per record, differences against the
first record marked, the wipe and overlay on a chosen pair; more than four is a message, not a 500."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.helpers import finished_record, small_definition

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(make_workflow, publish, operator) -> list[Any]:
    """Five records of one workflow: the first two of the same subject, the others each different."""
    workflow = make_workflow("quartet", "Quartet")
    publish(workflow, small_definition())
    subjects = ("a fox", "a fox", "an owl", "a heron", "a hare")
    return [
        finished_record(operator, workflow, inputs={"subject": s}, label=f"look {i} {s}")
        for i, s in enumerate(subjects)
    ]


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def compare_url(records: list[Any], **extra: Any) -> str:
    query = "&".join([*(f"r={r.pk}" for r in records), *(f"{k}={v}" for k, v in extra.items())])
    return f"/records/compare/?{query}"


def section(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


def table_rows(html: str) -> list[list[str]]:
    """Each row of the section's tables as its cells' opening tags (th or td)."""
    return [re.findall(r"<t[hd][^>]*>", row) for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)]


@pytest.mark.parametrize("count", [3, 4])
def test_three_and_four_records_show_one_column_each_with_differences_from_the_first_marked(records, operator, count):
    shown = records[:count]
    response = signed_in(operator).get(compare_url(shown))
    assert response.status_code == 200
    html = response.content.decode()

    parameters = section(html, "parameters")
    rows = table_rows(parameters)
    assert rows, "the subject differs, so the prompt does"
    assert all(len(row) == count + 1 for row in rows), rows  # the parameter's name, then one per record
    for i, record in enumerate(shown):
        assert f"{'ABCD'[i]} · {record.label}" in parameters
    prompt = re.search(r"<tr><td>prompt</td>(.*?)</tr>", parameters, flags=re.S)
    assert prompt is not None
    cells = re.findall(r'<td class="([^"]*)">', prompt.group(1))
    # A is the reference; B has A's subject, so the same prompt; C and D differ from A.
    assert cells == ["mono", "mono", "mono changed", "mono changed"][:count]
    assert prompt.group(1).count("(differs from the first record)") == count - 2

    grid = section(html, "outputs-grid")
    assert grid.count('data-testid="grid-cell"') == count  # one output, one cell per record
    for record in shown:
        assert record.outputs["hero"]["url"] in grid
    differing = grid.count('b-different">differs from A')
    assert differing + grid.count('b-exact">pixel-identical to A') == count - 1 and differing >= count - 2
    assert grid.count('<figure class="changed"') == differing  # highlighted as well as said

    pair = section(html, "pair")  # A against the second record by default, with a link to each other one
    assert f"?a={shown[0].pk}&b={shown[1].pk}&output=hero" in pair
    assert len(re.findall(r'data-testid="pick-[B-D]"', pair)) == count - 1


def test_the_wipe_and_overlay_compare_a_with_the_chosen_record(records, operator):
    shown = records[:4]
    html = signed_in(operator).get(compare_url(shown, pair=3)).content.decode()
    pair = section(html, "pair")
    assert f"?a={shown[0].pk}&b={shown[3].pk}&output=hero" in pair
    wipe = pair[pair.index('data-testid="wipe"') :]
    assert shown[0].outputs["hero"]["url"] in wipe and shown[3].outputs["hero"]["url"] in wipe
    assert re.search(r'aria-current="true"[^>]*>D · ', pair)
    # A pair out of range or not a number falls back to the second record, not an error.
    for bad in ("9", "0", "x", "-1", "1" * 5000):
        fallback = section(signed_in(operator).get(compare_url(shown, pair=bad)).content.decode(), "pair")
        assert f"?a={shown[0].pk}&b={shown[1].pk}&output=hero" in fallback


def test_two_records_show_the_wipe_and_overlay_switch(records, operator):
    html = signed_in(operator).get(compare_url(records[:2])).content.decode()
    pair = section(html, "pair")
    for view in ("side", "wipe", "overlay"):
        assert f'data-testid="view-{view}"' in pair
    assert 'data-testid="outputs-grid"' not in html and 'data-testid="pick-' not in html
    assert "style=" not in html.split("<main", 1)[1]


def test_more_than_four_records_is_a_clear_message_not_an_error(records, operator):
    response = signed_in(operator).get(compare_url(records))
    assert response.status_code == 400
    message = re.search(r'data-testid="compare-error">([^<]*)<', response.content.decode())
    assert message and "You picked 5 records; compare at most four at once." in message.group(1)


def test_fewer_than_two_records_asks_for_two_to_four(records, operator):
    for url in ("/records/compare/", compare_url(records[:1])):
        response = signed_in(operator).get(url)
        assert response.status_code == 400
        assert "Pick two to four records to compare." in response.content.decode()


def test_an_unknown_record_among_four_is_a_404(records, operator):
    import uuid

    assert signed_in(operator).get(compare_url(records[:3]) + f"&r={uuid.uuid4()}").status_code == 404
