"""Steps as the unit of execution, on real PostgreSQL, Redis and Celery worker processes (issue 12):
a worker SIGKILLed in the middle of one branch of a diamond costs that branch one more attempt and
nothing else; a step whose worker died is running again within lease + sweep interval + 5 s even
behind a backlog of 100 queued steps; a cancel stops a long step within two seconds and nothing
after it starts; a long step's progress is seen live through the API."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from runs_app import services
from runs_app.models import Run, RunStatus, RunStep, StepStatus, VersionRecord
from tests.helpers import small_definition, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

LEASE_SECONDS = 4
SWEEP_SECONDS = 1
# Short leases and sweeps so recovery is quick; honest queued steps are never re-sent during a test.
SHORT = {
    "FLONIKS_RUN_LEASE_SECONDS": str(LEASE_SECONDS),
    "FLONIKS_SWEEP_SECONDS": str(SWEEP_SECONDS),
    "FLONIKS_REQUEUE_AFTER_SECONDS": "600",
}
GENERATING = (StepStatus.RUNNING, StepStatus.SUCCEEDED)


@pytest.fixture(autouse=True)
def _no_run_quota(settings: Any) -> None:
    """The backlog test starts many runs at once; the per-user quota is tested in test_bounds."""
    settings.FLONIKS_MAX_ACTIVE_RUNS_PER_USER = 100_000


def animate(step_id: str, frames: int, size: int = 256, **params: Any) -> dict[str, Any]:
    """A built-in animation: rendered frame by frame, so its length is set by its frames and size."""
    return {
        "id": step_id,
        "kind": "animate",
        "model": "local/plasma",
        "params": {"prompt": "{{inputs.subject}} at dusk", "frames": frames, "width": size, "height": size, **params},
    }


def diamond_workflow(make_workflow: Any, publish: Any) -> Any:
    """base → motion (slow) and base → still (fast); joined reads both."""
    workflow = make_workflow("diamond", "Diamond")
    d = small_definition()
    base = d["steps"][0]
    d["steps"] = [
        base,
        animate("motion", frames=40, image="{{steps.background.output}}"),
        {
            "id": "still",
            "kind": "img2img",
            "model": "local/mosaic@2026-08-30",
            "params": {"image": "{{steps.background.output}}", "strength": 0.4, "prompt": "film grain"},
        },
        {
            "id": "joined",
            "kind": "img2img",
            "model": "local/plasma",
            "params": {"image": "{{steps.still.output}}", "strength": 0.3, "prompt": "beside {{steps.motion.output}}"},
        },
    ]
    d["outputs"] = {"hero": "{{steps.joined.output}}", "loop": "{{steps.motion.output}}"}
    publish(workflow, d)
    return workflow


def one_step_workflow(make_workflow: Any, publish: Any, slug: str, step: dict[str, Any]) -> Any:
    workflow = make_workflow(slug, slug.title())
    d = small_definition()
    d["steps"] = [step]
    d["outputs"] = {"out": "{{steps." + step["id"] + ".output}}"}
    publish(workflow, d)
    return workflow


def step_of(run_id: Any, step_id: str) -> RunStep:
    return RunStep.objects.get(run_id=run_id, step_id=step_id)


def holder(step: RunStep, workers: list[Any]) -> Any:
    """The worker whose main process or pool child holds the step's lease ("host:pid:task")."""
    pids = {w: {w.process.pid, *w.children()} for w in workers}
    owner_pid = int(step.lease_owner.split(":")[1])
    return next(w for w, found in pids.items() if owner_pid in found)


def start(workflow: Any, operator: Any, subject: str = "a fox") -> Any:
    return services.start_run(actor=operator, workflow=workflow, inputs={"subject": subject}).pk


def test_a_worker_killed_in_one_branch_of_a_diamond_costs_only_that_branch(
    start_worker, make_workflow, publish, operator
):
    workflow = diamond_workflow(make_workflow, publish)
    x = start_worker(env=SHORT, concurrency=1)
    y = start_worker(env=SHORT, concurrency=1)
    run_id = start(workflow, operator)

    wait_for(
        lambda: (
            step_of(run_id, "still").status == StepStatus.SUCCEEDED
            and step_of(run_id, "motion").status == StepStatus.RUNNING
        ),
        90,
        interval=0.1,
        what="the fast branch done while the slow one generates",
    )
    motion, still = step_of(run_id, "motion"), step_of(run_id, "still")
    victim = holder(motion, [x, y])
    survivor = y if victim is x else x
    victim.kill()  # the machine generating `motion` goes away mid-step
    killed_at = time.monotonic()
    wait_for(lambda: step_of(run_id, "motion").attempts == 2, 60, interval=0.1, what="the slow branch taken over")
    print(f"\nthe slow branch ran again on the other worker {time.monotonic() - killed_at:.1f}s after the kill")

    wait_for(
        lambda: Run.objects.get(pk=run_id).status in (RunStatus.AWAITING_ANNOTATION, RunStatus.FAILED),
        120,
        interval=0.2,
        what="the run to finish on the surviving worker",
    )
    run = Run.objects.get(pk=run_id)
    assert run.status == RunStatus.AWAITING_ANNOTATION, run.error
    assert survivor.process.poll() is None
    # The finished branch was not generated again; the interrupted one was, once more.
    again = step_of(run_id, "still")
    assert (again.attempts, again.finished_at, again.output_id) == (1, still.finished_at, still.output_id)
    recovered = step_of(run_id, "motion")
    assert recovered.attempts == 2
    assert recovered.status == StepStatus.SUCCEEDED
    assert recovered.started_at and motion.started_at and recovered.started_at > motion.started_at
    assert step_of(run_id, "joined").attempts == 1

    services.finalize_run(actor=operator, run=run, label="diamond", annotation="survived a dead worker")
    wait_for(lambda: VersionRecord.objects.filter(run_id=run_id).exists(), 60, what="the record")
    time.sleep(2)  # late duplicate deliveries and sweeps would show now
    assert VersionRecord.objects.filter(run_id=run_id).count() == 1


def test_a_step_whose_worker_died_runs_again_ahead_of_a_backlog(start_worker, make_workflow, publish, operator):
    long = one_step_workflow(make_workflow, publish, "long", animate("motion", frames=96, size=320))
    quick = one_step_workflow(
        make_workflow,
        publish,
        "quick",
        {
            "id": "frame",
            "kind": "generate_image",
            "model": "local/plasma",
            # About half a second each: a backlog of 100 keeps two slots busy for half a minute.
            "params": {"prompt": "{{inputs.subject}}", "width": 1024, "height": 768, "steps": 120},
        },
    )
    doomed = start_worker(env=SHORT, concurrency=1)
    long_run = start(long, operator, "the long one")
    wait_for(lambda: step_of(long_run, "motion").status == StepStatus.RUNNING, 60, what="the long step to start")
    # The backlog queues while the only worker is busy with the long step.
    began = time.monotonic()
    backlog = [start(quick, operator, f"subject {i}") for i in range(104)]
    print(f"\n{len(backlog)} backlog runs started in {time.monotonic() - began:.1f}s")
    start_worker(env=SHORT, concurrency=1)  # works through the backlog meanwhile: two slots in all
    motion = step_of(long_run, "motion")
    assert motion.status == StepStatus.RUNNING and holder(motion, [doomed]) is doomed
    queued = RunStep.objects.filter(run_id__in=backlog, status=StepStatus.QUEUED).count()
    assert queued >= 100

    doomed.kill()
    killed_at, killed_wall = time.monotonic(), timezone.now()
    replacement = threading.Thread(target=lambda: start_worker(env=SHORT, concurrency=1))
    replacement.start()  # right away, as a supervisor would; the step must not wait for it either

    def running_again() -> RunStep | None:
        step = step_of(long_run, "motion")
        return step if step.attempts >= 2 and step.status in GENERATING else None

    again = wait_for(running_again, 90, interval=0.1, what="the killed worker's step to run again")
    recovered_in = time.monotonic() - killed_at
    replacement.join(60)
    bound = LEASE_SECONDS + SWEEP_SECONDS + 5
    during = RunStep.objects.filter(run_id__in=backlog, started_at__gt=killed_wall, started_at__lt=again.started_at)
    # Once re-sent, the step goes ahead of the backlog: only steps already taken may start before it.
    after_resend = during.filter(started_at__gt=again.sent_at).count()
    left = RunStep.objects.filter(run_id__in=backlog, status=StepStatus.QUEUED).count()
    print(
        f"step running again {recovered_in:.1f}s after its worker was killed (bound {bound}s: lease "
        f"{LEASE_SECONDS}s + sweep {SWEEP_SECONDS}s + 5s); {queued} steps were queued, "
        f"{during.count()} backlog steps started between the kill and the recovery ({after_resend} after the "
        f"step was re-sent), {left} still queued"
    )
    assert again.attempts == 2
    assert again.lease_owner != motion.lease_owner
    assert recovered_in <= bound

    # Stop the rest: the workers are free again at once and the test stays short.
    for run_id in [long_run, *backlog]:
        run = Run.objects.get(pk=run_id)
        if run.is_cancellable and run.status != RunStatus.AWAITING_ANNOTATION:
            services.cancel_run(actor=operator, run=run)


def test_cancel_stops_a_long_step_within_two_seconds_and_nothing_after_it_starts(
    start_worker, make_workflow, publish, operator, api
):
    workflow = make_workflow("long-then-still", "Long then still")
    d = small_definition()
    d["steps"] = [
        animate("motion", frames=96, size=320),
        {
            "id": "still",
            "kind": "img2img",
            "model": "local/mosaic@2026-08-30",
            "params": {"image": "{{steps.motion.output}}", "strength": 0.4, "prompt": "film grain"},
        },
    ]
    d["outputs"] = {"still": "{{steps.still.output}}"}
    publish(workflow, d)
    quick = make_workflow("quick", "Quick")
    publish(quick, small_definition())
    start_worker(concurrency=1)  # one slot: the next run can start only once the long step has stopped
    run_id = start(workflow, operator)
    wait_for(lambda: step_of(run_id, "motion").progress > 0, 60, interval=0.1, what="the long step under way")
    next_id = start(quick, operator)
    client = api(operator)

    cancelled_at = timezone.now()
    assert client.post(f"/api/runs/{run_id}/cancel/").status_code == 200
    first = wait_for(
        lambda: RunStep.objects.filter(run_id=next_id, started_at__isnull=False).first(),
        60,
        interval=0.05,
        what="the worker to take the next run",
    )
    wait_for(
        lambda: Run.objects.get(pk=next_id).status == RunStatus.AWAITING_ANNOTATION, 60, what="the next run to finish"
    )

    body = client.get(f"/api/runs/{run_id}/").json()
    steps = {s["id"]: s for s in body["steps"]}
    assert body["status"] == RunStatus.CANCELLED
    assert steps["motion"]["status"] == StepStatus.CANCELLED
    assert 0 < steps["motion"]["progress"] < 1  # stopped part way, not run to the end
    finished_at = parse_datetime(steps["motion"]["finished_at"] or "")
    assert finished_at is not None, "a step that started and was stopped says when it stopped"
    stopped_in = (finished_at - cancelled_at).total_seconds()
    freed_in = (first.started_at - cancelled_at).total_seconds()
    print(
        f"\nthe cancelled step stopped {stopped_in:.2f}s after the cancel (bound 2s); "
        f"its worker took the next run {freed_in:.2f}s after the cancel"
    )
    time.sleep(2)
    later = {s["id"]: s for s in client.get(f"/api/runs/{run_id}/").json()["steps"]}
    assert later["motion"]["progress"] == steps["motion"]["progress"]
    assert later["motion"]["attempts"] == 1
    assert (later["still"]["status"], later["still"]["started_at"]) == (StepStatus.CANCELLED, None)
    assert stopped_in <= 2


def test_a_long_step_reports_increasing_progress_through_the_api(start_worker, make_workflow, publish, operator, api):
    workflow = one_step_workflow(make_workflow, publish, "long", animate("motion", frames=60, size=320))
    start_worker(concurrency=1)
    run_id = start(workflow, operator)
    client = api(operator)
    seen: list[float] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = client.get(f"/api/runs/{run_id}/").json()
        step = body["steps"][0]
        if step["status"] == StepStatus.RUNNING and (not seen or step["progress"] != seen[-1]):
            seen.append(step["progress"])
        if body["status"] not in (RunStatus.QUEUED, RunStatus.RUNNING):
            break
        time.sleep(0.2)
    print(f"\nprogress seen while the step ran: {seen}")
    assert body["status"] == RunStatus.AWAITING_ANNOTATION, body["error"]
    assert body["steps"][0]["progress"] == 1.0
    distinct = [p for p in seen if p > 0]
    assert len(set(distinct)) >= 3
    assert distinct == sorted(distinct)  # it only ever goes forward
