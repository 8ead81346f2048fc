"""htmx done right: a page answers with its fragment only when htmx swaps a part of it, never to
Back (a history restore) or a boosted navigation, and says so with Vary; confirmations are
hx-confirm; the run's Cancel button lives and dies with the polled live block; and templates ask
the models, whose predicates agree with the services' rules."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from core.errors import DomainError
from runs_app import services as runs
from runs_app.models import Run, RunStatus, VersionRecord
from templates_app import services as templates
from templates_app.models import Channel, Lifecycle, Mode, Visibility, Workflow, WorkflowVersion
from tests.helpers import finished_record, run_now, small_definition

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
RESTORE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}
BOOSTED = {"HTTP_HX_REQUEST": "true", "HTTP_HX_BOOSTED": "true"}


@pytest.fixture
def signed_in(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def campaign(make_workflow, publish) -> Workflow:
    workflow = make_workflow("campaign", "Campaign")
    publish(workflow, small_definition())
    return workflow


def vary(response: Any) -> set[str]:
    return {v.strip().lower() for v in response.get("Vary", "").split(",")}


def is_whole_page(response: Any) -> bool:
    return b"<html" in response.content and b"</html>" in response.content


@pytest.mark.parametrize("url", ["/workflows/", "/records/", "/workflows/campaign/", "/public/", "/"])
def test_every_page_varies_on_hx_request(signed_in, campaign, url):
    for headers in ({}, HTMX):
        response = signed_in.get(url, **headers)
        assert response.status_code == 200
        assert "hx-request" in vary(response), (url, response.get("Vary"))


@pytest.mark.parametrize("url", ["/workflows/?q=camp", "/records/?q=x"])
def test_htmx_gets_the_fragment_but_back_and_boosted_navigation_get_the_whole_page(signed_in, campaign, url):
    fragment = signed_in.get(url, **HTMX)
    assert fragment.status_code == 200 and not is_whole_page(fragment)
    for headers in ({}, RESTORE, BOOSTED):
        response = signed_in.get(url, **headers)
        assert response.status_code == 200 and is_whole_page(response), headers
        assert b"<header" in response.content  # the navigation is there, not a bare fragment
        assert {"hx-request", "hx-history-restore-request"} <= vary(response)


def _live_block(html: bytes) -> bytes:
    """The polled block of a run page: from <div id="run-live" to the end of the fragment or page."""
    start = html.index(b'id="run-live"')
    return html[start:]


def test_an_awaiting_runs_discard_button_is_in_the_polled_block_with_hx_confirm(signed_in, operator, campaign):
    run = run_now(runs.start_run(actor=operator, workflow=campaign, inputs={"subject": "owl"}))
    assert run.awaits_annotation
    page = signed_in.get(f"/runs/{run.pk}/")
    head, live = page.content.split(b'id="run-live"', 1)
    assert b"run-cancel" not in head and b"/cancel/" not in head  # not outside the block that polls
    assert b'data-testid="cancel-run"' in live
    assert re.search(rb'hx-confirm="Discard this finished run\?[^"]*"', live)
    assert b"onsubmit" not in page.content
    fragment = signed_in.get(f"/runs/{run.pk}/", **HTMX)
    assert b'data-testid="cancel-run"' in fragment.content and b"Discard run" in fragment.content


def test_a_queued_run_offers_cancel_and_the_button_goes_with_the_run(signed_in, operator, campaign):
    run = runs.start_run(actor=operator, workflow=campaign, inputs={"subject": "owl"})
    live = signed_in.get(f"/runs/{run.pk}/", **HTMX).content
    assert b'hx-trigger="every 1s"' in live  # still polling
    assert b"Cancel run" in live and b'hx-confirm="Cancel this run?"' in live
    answer = signed_in.post(f"/runs/{run.pk}/cancel/", **BOOSTED, follow=True)
    assert answer.status_code == 200 and b"Run cancelled." in answer.content  # boosted: the whole page, message too
    assert Run.objects.get(pk=run.pk).status == RunStatus.CANCELLED
    after = signed_in.get(f"/runs/{run.pk}/", **HTMX).content
    assert b'data-testid="cancel-run"' not in after and b"every 1s" not in after


def test_a_finished_run_has_no_cancel_button(signed_in, operator, campaign):
    record = finished_record(operator, campaign)
    page = signed_in.get(f"/runs/{record.run_id}/").content
    assert b'data-testid="cancel-run"' not in page and b"Cancel run" not in page and b"Discard run" not in page


def _polls(html: bytes) -> str | None:
    """Where the live block asks for its next state, as htmx would (None: nothing in it polls)."""
    live = html[html.index(b'<div id="run-live"') :]
    pollers = [tag for tag in re.findall(rb"<[a-z]+ [^>]*>", live) if b'hx-trigger="every ' in tag]
    assert len(pollers) <= 1, pollers
    if not pollers:
        return None
    url = re.search(rb'hx-get="([^"]+)"', pollers[0])
    assert url is not None and b'hx-select="#run-live"' in pollers[0]
    return url.group(1).decode().replace("&amp;", "&")


def shown_status(html: bytes) -> str:
    found = re.search(rb'data-testid="run-status">([^<]*)<', html)
    assert found is not None
    return found.group(1).decode().strip()


def test_a_run_finalised_elsewhere_loses_its_discard_button_without_a_reload(signed_in, operator, campaign):
    """The page of a run awaiting its annotation is open; the run is finalised in another tab (or by
    a colleague, or the API). The live update must bring the new status and take the button away,
    since cancelling a finalised run is refused."""
    run = run_now(runs.start_run(actor=operator, workflow=campaign, inputs={"subject": "owl"}))
    page = signed_in.get(f"/runs/{run.pk}/").content
    assert b"Discard run" in page
    poll = _polls(page)
    assert poll is not None, "a run awaiting its annotation is not watched at all"
    quiet = signed_in.get(poll, **HTMX)
    assert quiet.status_code == 204  # nothing changed: no swap, the annotation being typed stays
    assert "hx-request" in vary(quiet)

    runs.finalize_run(actor=operator, run=run, label="owl", annotation="done in another tab")
    update = signed_in.get(poll, **HTMX)
    assert update.status_code == 200 and not is_whole_page(update)
    assert shown_status(update.content) == RunStatus.RECORDING.label
    assert b'data-testid="cancel-run"' not in update.content and b"Discard run" not in update.content
    assert b'id="annotate"' not in update.content

    runs.write_record(run_id=run.pk)
    poll = _polls(update.content)
    assert poll is not None  # still watched while a worker writes the record
    done = signed_in.get(poll, **HTMX).content
    assert shown_status(done) == RunStatus.FINALIZED.label
    assert b'data-testid="cancel-run"' not in done and b"Cancel run" not in done
    assert b'data-testid="record-link"' in done
    assert _polls(done) is None  # nothing can change it any more


def test_a_run_discarded_elsewhere_shows_cancelled_without_a_button(signed_in, operator, campaign):
    run = run_now(runs.start_run(actor=operator, workflow=campaign, inputs={"subject": "owl"}))
    poll = _polls(signed_in.get(f"/runs/{run.pk}/").content)
    assert poll is not None
    runs.cancel_run(actor=operator, run=run)
    update = signed_in.get(poll, **HTMX).content
    assert shown_status(update) == RunStatus.CANCELLED.label
    assert b'data-testid="cancel-run"' not in update and _polls(update) is None


def test_discarding_a_draft_asks_with_hx_confirm(signed_in, operator, campaign):
    draft = templates.save_draft(actor=operator, workflow=campaign, definition=small_definition(width=128))
    html = signed_in.get(f"/drafts/{draft.pk}/").content
    form = re.search(rb"<form[^>]*draft-discard[^>]*>|<form[^>]*/discard/[^>]*>", html)
    assert form is not None
    assert b'hx-confirm="Discard this draft?' in form.group(0) and b'hx-boost="true"' in form.group(0)
    assert b"onsubmit" not in html and b"<script>" not in html
    assert b"data-warn-unsaved" in html  # the unsaved-edits warning is wired from static/floniks/pages.js


def test_the_run_page_draws_progress_without_an_inline_style(signed_in, operator, campaign):
    run = run_now(runs.start_run(actor=operator, workflow=campaign, inputs={"subject": "owl"}))
    html = signed_in.get(f"/runs/{run.pk}/").content
    assert re.search(rb'<progress class="progress big" value="100" max="100"', html)
    assert b"style=" not in html


# --- the predicates templates ask -------------------------------------------------------


@pytest.mark.parametrize("status", list(RunStatus))
def test_run_predicates_agree_with_the_cancel_service(operator, campaign, status):
    """Is the Cancel button shown ⇔ would cancel_run accept it: one rule, asked two ways."""
    run = run_now(runs.start_run(actor=operator, workflow=campaign, inputs={"subject": "owl"}))
    Run.objects.filter(pk=run.pk).update(status=status, annotation="ok")
    run = Run.objects.get(pk=run.pk)
    # A run paused at a gate is live too: a step on another branch may still be generating.
    live = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.AWAITING_GATE, RunStatus.RECORDING)
    assert run.is_live == (status in live)
    assert run.awaits_gate == (status == RunStatus.AWAITING_GATE)
    assert run.awaits_annotation == (status == RunStatus.AWAITING_ANNOTATION)
    assert run.is_recording == (status == RunStatus.RECORDING)
    try:
        runs.cancel_run(actor=operator, run=run)
    except DomainError:
        accepted = False
    else:
        accepted = True
    assert run.is_cancellable == accepted


def test_workflow_and_version_predicates():
    w = Workflow(lifecycle=Lifecycle.ARCHIVED, mode=Mode.PRODUCTION)
    assert w.is_archived and not w.exploring and not w.approved_for_production and w.in_production_mode
    w = Workflow(lifecycle=Lifecycle.PRODUCTION, mode=Mode.DISCOVERY)
    assert w.approved_for_production and not w.is_archived and not w.in_production_mode
    assert Workflow(lifecycle=Lifecycle.EXPLORING).exploring
    v = WorkflowVersion(visibility=Visibility.INTERNAL, channel=Channel.SHADOW)
    assert v.is_internal and v.on_shadow_channel and not v.on_standard_channel
    v = WorkflowVersion(visibility=Visibility.PUBLIC, channel=Channel.STANDARD)
    assert not v.is_internal and not v.on_shadow_channel and v.on_standard_channel
    assert not VersionRecord().is_approved
    assert VersionRecord(approved_at=timezone.now()).is_approved


def test_no_template_compares_a_status_string():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "templates"
    pattern = re.compile(r"\.(status|lifecycle|mode|channel|visibility)\s*(==|!=)|(==|!=)\s*\S+\.(status|lifecycle)\b")
    offenders = [
        f"{path.relative_to(root)}:{n}: {line.strip()[:90]}"
        for path in sorted(root.rglob("*.html"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
