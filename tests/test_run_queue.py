"""The batch page and Explore (DESIGN §15), the team's run queue with its workers' heartbeats and
stale leases, and the run-again, retry and discard buttons (issue 15)."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.test import Client
from django.utils import timezone

from runs_app import services
from runs_app.models import Batch, Run, RunStatus, RunStep, StepStatus, VersionRecord, WorkerHeartbeat
from runs_app.sweep import SweepThread, beat, sweep
from tests.helpers import run_now, slow_workflow, small_definition, wait_for

HTMX = {"HTTP_HX_REQUEST": "true"}
FAST_RECOVERY = {"FLONIKS_RUN_LEASE_SECONDS": "4", "FLONIKS_SWEEP_SECONDS": "1", "FLONIKS_REQUEUE_AFTER_SECONDS": "2"}


@pytest.fixture
def workflow(make_workflow, publish):
    wf = make_workflow()
    publish(wf, small_definition())
    return wf


@pytest.fixture
def signed_in(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def _cells(html: bytes) -> list[str]:
    return re.findall(r'id="cell-([0-9a-f-]{36})"', html.decode())


@pytest.mark.django_db
def test_explore_on_the_run_form_starts_a_sweep_and_the_grid_finalises_two_and_discards_the_rest(
    signed_in, operator, workflow
):
    answer = signed_in.post(
        f"/workflows/{workflow.slug}/run/",
        {
            "input_subject": "a fox",
            "explore": "1",
            "count": "2",
            "sweep_key_1": "background.guidance_scale",
            "sweep_values_1": "3, 7.5",
        },
    )
    assert answer.status_code == 302, answer.content[:400]
    batch = Batch.objects.get()
    assert answer["Location"] == f"/batches/{batch.pk}/"
    runs = list(batch.runs.order_by("created_at", "id"))
    assert len(runs) == 4 and sorted(r.swept["background.guidance_scale"] for r in runs) == [3, 3, 7.5, 7.5]

    page = signed_in.get(f"/batches/{batch.pk}/").content
    assert len(_cells(page)) == 4 and b'data-testid="batch-poll"' in page  # generating: the grid polls
    live = signed_in.get(f"/batches/{batch.pk}/?" + "&".join(f"live={r.pk}" for r in runs), **HTMX)
    assert live.status_code == 200 and live.content.count(b'hx-swap-oob="true"') == 4

    for run in runs:
        run_now(run)
    done = signed_in.get(f"/batches/{batch.pk}/?live={runs[0].pk}", **HTMX)
    assert done.status_code == 286  # nothing generates any more: the poller stops, the cell still swaps in
    assert b'name="keep"' in done.content
    page = signed_in.get(f"/batches/{batch.pk}/").content
    assert b'data-testid="batch-poll"' not in page and page.count(b'name="keep"') == 4
    assert b"guidance_scale = <strong>7.5</strong>" in page

    # The mandatory annotation: one kept cell without one is refused and nothing of it is recorded.
    kept = [str(runs[0].pk), str(runs[3].pk)]
    refused = signed_in.post(
        f"/batches/{batch.pk}/finalize/",
        {
            "action": "finalize",
            "keep": kept,
            f"label_{kept[0]}": "amber",
            f"annotation_{kept[0]}": "warmest",
            f"label_{kept[1]}": "teal",
            f"annotation_{kept[1]}": "",
        },
    )
    assert refused.status_code == 400 and b'data-testid="cell-annotation-error"' in refused.content
    assert b"teal" in refused.content  # what was typed stays
    assert Run.objects.get(pk=runs[3].pk).status == RunStatus.AWAITING_ANNOTATION
    assert (
        signed_in.post(
            f"/batches/{batch.pk}/finalize/",
            {"action": "finalize", "keep": [kept[1]], f"label_{kept[1]}": "teal", f"annotation_{kept[1]}": "cooler"},
        ).status_code
        == 302
    )
    assert signed_in.post(f"/batches/{batch.pk}/finalize/", {"action": "discard", "keep": kept}).status_code == 302
    statuses = {str(r.pk): r.status for r in Run.objects.filter(batch=batch)}
    assert [statuses[k] for k in kept] == [RunStatus.RECORDING, RunStatus.RECORDING]
    assert sorted(s for k, s in statuses.items() if k not in kept) == [RunStatus.DISCARDED] * 2
    records = [services.write_record(run_id=k) for k in kept]
    assert sorted(r.number for r in records if r) == [1, 2]

    # A discarded run still shows its annotation form on its own page, and becomes a record later.
    discarded = next(k for k, s in statuses.items() if s == RunStatus.DISCARDED)
    run_page = signed_in.get(f"/runs/{discarded}/").content
    assert b'data-testid="discarded-note"' in run_page and b'id="annotate"' in run_page
    assert (
        signed_in.post(
            f"/runs/{discarded}/finalize/", {"label": "after all", "annotation": "the client came back to it"}
        ).status_code
        == 302
    )
    assert services.write_record(run_id=discarded).number == 3


@pytest.mark.django_db
def test_a_cell_polled_alone_keeps_its_number_in_the_grid(signed_in, operator, workflow):
    """The poller swaps in only the cells still live; the third variation must still read #3, not the
    #1 or #2 of its place in that answer (the operator saw "#1 #2 #2 #4" while two records were written)."""
    batch = services.start_batch(actor=operator, workflow=workflow, inputs={"subject": "a fox"}, count=4)
    runs = list(batch.runs.order_by("created_at", "id"))
    live = signed_in.get(f"/batches/{batch.pk}/?live={runs[2].pk}&live={runs[3].pk}", **HTMX).content.decode()
    numbers = re.findall(r"<strong>#(\d+)</strong>", live)
    assert numbers == ["3", "4"]
    assert 'alt="Variation 3"' in live or 'aria-label="Progress of variation 3"' in live


@pytest.mark.django_db
def test_an_explore_refused_on_the_form_keeps_the_sweep_and_says_why_once(signed_in, workflow):
    answer = signed_in.post(
        f"/workflows/{workflow.slug}/run/",
        {
            "input_subject": "a fox",
            "explore": "1",
            "count": "2",
            "sweep_key_1": "background.guidance_scale",
            "sweep_values_1": "abc, 7",
        },
    )
    html = answer.content.decode()
    assert answer.status_code == 400 and html.count("must be a number") == 1
    # What the operator typed and chose stays, so fixing one value is one edit, not the whole sweep again.
    assert re.search(r"<option selected>background.guidance_scale</option>", html)
    assert 'value="abc, 7"' in html
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_explore_with_too_many_runs_is_refused_on_the_form(signed_in, workflow):
    answer = signed_in.post(
        f"/workflows/{workflow.slug}/run/", {"input_subject": "a fox", "explore": "1", "count": "65"}
    )
    assert answer.status_code == 400 and b"at most 64" in answer.content
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_the_queue_filters_by_status_workflow_operator_and_queue(signed_in, operator, manager, workflow, settings):
    done = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a"}))
    waiting = services.start_run(actor=manager, workflow=workflow, inputs={"subject": "b"})
    page = signed_in.get("/runs/").content.decode()
    assert page.count('data-testid="queue-row"') == 2
    assert 'data-testid="waiting-floniks">1<' in page  # one step waits on the default queue
    assert "waiting on floniks" in page
    only = signed_in.get("/runs/?status=awaiting_annotation").content.decode()
    assert only.count('data-testid="queue-row"') == 1 and f"/runs/{done.pk}/" in only
    mine = signed_in.get(f"/runs/?operator={manager.username}").content.decode()
    assert mine.count('data-testid="queue-row"') == 1 and f"/runs/{waiting.pk}/" in mine
    assert signed_in.get("/runs/?queue=elsewhere").content.decode().count('data-testid="queue-row"') == 0
    assert signed_in.get("/runs/?workflow=nothing").content.decode().count('data-testid="queue-row"') == 0
    assert signed_in.get("/runs/?status=bogus").content.decode().count('data-testid="queue-row"') == 0


@pytest.mark.django_db
def test_a_heartbeat_is_alive_and_an_old_one_silent(signed_in, settings):
    settings.FLONIKS_SWEEP_SECONDS = 2
    beat("alive@host", ["floniks"], timezone.now())
    beat("gone@host", ["gpu"], timezone.now())
    WorkerHeartbeat.objects.filter(name="gone@host").update(seen_at=timezone.now() - dt.timedelta(seconds=7))
    page = signed_in.get("/runs/").content.decode()
    assert re.search(r"alive@host.*?data-testid=\"worker-alive\"", page, re.S)
    assert re.search(r"gone@host.*?data-testid=\"worker-silent\"", page, re.S)


@pytest.mark.django_db
def test_a_worker_killed_a_day_ago_is_forgotten_by_the_sweep_and_live_workers_come_first(signed_in, settings):
    settings.FLONIKS_SWEEP_SECONDS = 2
    beat("zz-alive@host", ["floniks"], timezone.now())
    for name, age in (("aa-killed@host", dt.timedelta(hours=2)), ("ab-long-gone@host", dt.timedelta(days=2))):
        beat(name, ["floniks"], timezone.now())
        WorkerHeartbeat.objects.filter(name=name).update(seen_at=timezone.now() - age)
    page = signed_in.get("/runs/").content.decode()
    # Alive first though its name sorts last, then the silent ones by name.
    assert page.index("zz-alive@host") < page.index("aa-killed@host") < page.index("ab-long-gone@host")
    assert sweep()["forgotten"] == 1
    page = signed_in.get("/runs/").content.decode()
    assert "ab-long-gone@host" not in page
    assert re.search(r"aa-killed@host.*?data-testid=\"worker-silent\"", page, re.S)


@pytest.mark.django_db
def test_a_step_whose_lease_expired_marks_its_run_stale(signed_in, operator, workflow):
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a"})
    RunStep.objects.filter(run=run, index=0).update(
        status=StepStatus.RUNNING, lease_owner="dead", lease_expires_at=timezone.now() + dt.timedelta(seconds=30)
    )
    assert 'data-testid="stale"' not in signed_in.get("/runs/").content.decode()
    RunStep.objects.filter(run=run, index=0).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert 'data-testid="stale"' in signed_in.get("/runs/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_sweep_thread_writes_its_heartbeat_and_clears_it_on_a_clean_stop():
    thread = SweepThread(interval=60, name="beating@host", queues=["floniks"]).start()
    try:
        wait_for(lambda: WorkerHeartbeat.objects.filter(name="beating@host").exists(), 10, what="the heartbeat")
    finally:
        thread.stop()
    assert not WorkerHeartbeat.objects.filter(name="beating@host").exists()


@pytest.mark.django_db
def test_run_again_retry_and_discard_buttons(signed_in, operator, workflow):
    run = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a"}))
    page = signed_in.get(f"/runs/{run.pk}/").content
    assert b'data-testid="run-again"' in page and b'data-testid="retry-run"' not in page
    assert f'action="/runs/{run.pk}/discard/"'.encode() in page  # Discard keeps the run, it does not cancel it
    again = signed_in.post(f"/runs/{run.pk}/again/")
    new = Run.objects.exclude(pk=run.pk).get()
    assert again["Location"] == f"/runs/{new.pk}/" and new.inputs == run.inputs
    assert signed_in.post(f"/runs/{run.pk}/discard/").status_code == 302
    assert Run.objects.get(pk=run.pk).status == RunStatus.DISCARDED
    services.cancel_run(actor=operator, run=new)
    assert b'data-testid="retry-run"' not in signed_in.get(f"/runs/{new.pk}/").content  # cancelled, not failed


# --- real workers -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_queue_shows_a_live_worker_and_a_killed_workers_run_as_stale_until_the_sweep_recovers_it(
    start_worker, make_workflow, publish, operator, settings
):
    settings.FLONIKS_SWEEP_SECONDS = 1  # the page's idea of "alive": three of the workers' sweeps
    client = Client()
    client.force_login(operator)
    workflow = slow_workflow(make_workflow, publish)
    doomed = start_worker(env=FAST_RECOVERY)
    page = client.get("/runs/").content.decode()
    assert 'data-testid="worker-alive"' in page and doomed.name.split("@")[0] in page

    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"})
    wait_for(
        lambda: RunStep.objects.filter(run=run, step_id="motion", status="running").exists(),
        60,
        interval=0.05,
        what="the slow step to start",
    )
    row = client.get(f"/runs/?workflow={workflow.slug}").content.decode()
    assert "motion on floniks" in row and 'data-testid="stale"' not in row
    doomed.kill()
    wait_for(
        lambda: 'data-testid="stale"' in client.get("/runs/?status=running").content.decode(),
        30,
        what="the run to show as stale",
    )
    wait_for(
        lambda: 'data-testid="worker-silent"' in client.get("/runs/").content.decode(), 30, what="the worker silent"
    )
    start_worker(env=FAST_RECOVERY)
    began = time.monotonic()
    wait_for(lambda: Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_ANNOTATION, 120, what="recovery")
    print(f"\nstale run recovered {time.monotonic() - began:.1f}s after a new worker started")
    assert 'data-testid="stale"' not in client.get("/runs/").content.decode()
    assert not VersionRecord.objects.exists()
