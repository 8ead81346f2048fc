"""Faults survived with nothing lost, on real PostgreSQL, Redis and Celery workers:
random SIGKILLs of pool children and of whole workers during a batch, Redis and
PostgreSQL restarted mid-batch, and a crash between commit and enqueue.

After each fault every run reaches a final state with none failed because of the
fault, every finalised run has exactly one record, and no annotation is lost."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from typing import Any

import pytest
from django.db import connection

from runs_app import dispatch, services
from runs_app.models import Run, RunStatus, RunStep, VersionRecord
from testing.services import PostgresServer, RedisServer
from tests.helpers import small_definition, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture(autouse=True)
def _no_run_quota(settings):
    """These tests start many runs at once to load the system; the per-user quota is tested in test_bounds."""
    settings.FLONIKS_MAX_ACTIVE_RUNS_PER_USER = 100_000


FAST = {"FLONIKS_RUN_LEASE_SECONDS": "5", "FLONIKS_SWEEP_SECONDS": "1", "FLONIKS_REQUEUE_AFTER_SECONDS": "3"}
DONE = (RunStatus.AWAITING_ANNOTATION, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.FINALIZED)


def batch_workflow(make_workflow, publish) -> Any:
    """Two steps, the second a real animation (about a second), so kills land mid-step."""
    workflow = make_workflow("batch", "Batch")
    d = small_definition(width=256, height=256)
    d["steps"].append(
        {
            "id": "motion",
            "kind": "animate",
            "model": "local/plasma",
            "params": {"prompt": "{{inputs.subject}}", "frames": 14, "width": 384, "height": 384},
        }
    )
    d["outputs"] = {"hero": "{{steps.styled.output}}", "loop": "{{steps.motion.output}}"}
    publish(workflow, d)
    return workflow


def start_batch(workflow: Any, operator: Any, n: int) -> list[Any]:
    return [
        services.start_run(actor=operator, workflow=workflow, inputs={"subject": f"subject {i}"}).pk for i in range(n)
    ]


def settled(run_ids: list[Any], timeout: float = 180) -> None:
    wait_for(
        lambda: Run.objects.filter(pk__in=run_ids, status__in=DONE).count() == len(run_ids),
        timeout,
        interval=0.5,
        what="every run to reach a final state",
    )


def all_succeeded(run_ids: list[Any]) -> None:
    """Every run finished its work: none failed or was cancelled because of the fault."""
    runs = Run.objects.filter(pk__in=run_ids)
    assert runs.count() == len(run_ids)
    lost = [f"{r.pk}: {r.status} {r.error[:160]}" for r in runs if r.status != RunStatus.AWAITING_ANNOTATION]
    assert not lost, f"{len(lost)} of {len(run_ids)} runs did not survive the fault:\n" + "\n".join(lost)


def finalise_all(run_ids: list[Any], operator: Any, timeout: float = 120) -> None:
    """Every run waits for its annotation; annotate each, then exactly one record each, annotation intact."""
    all_succeeded(run_ids)
    waiting = list(Run.objects.filter(pk__in=run_ids).values_list("pk", flat=True))
    for run_id in waiting:
        services.finalize_run(
            actor=operator, run=Run(pk=run_id), label=f"take {run_id.hex[:6]}", annotation=f"annotation of {run_id}"
        )
    wait_for(
        lambda: VersionRecord.objects.filter(run_id__in=waiting).count() == len(waiting),
        timeout,
        interval=0.5,
        what="every record",
    )
    time.sleep(2)  # let late duplicate deliveries and sweeps pass
    for record in VersionRecord.objects.filter(run_id__in=waiting):
        assert record.annotation == f"annotation of {record.run_id}"
    assert VersionRecord.objects.filter(run_id__in=waiting).count() == len(waiting)
    numbers = sorted(VersionRecord.objects.filter(run_id__in=waiting).values_list("number", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def test_random_kills_of_pool_children_and_whole_workers(start_worker, make_workflow, publish, operator):
    workflow = batch_workflow(make_workflow, publish)
    # One worker the chaos spares, so some worker is always there to sweep (every worker sweeps).
    start_worker(env=FAST, concurrency=1)
    a = start_worker(env=FAST, concurrency=2)
    b = start_worker(env=FAST, concurrency=2)
    runs = start_batch(workflow, operator, 14)
    rng = random.Random(20261121)
    wait_for(
        lambda: Run.objects.filter(pk__in=runs, status=RunStatus.RUNNING).count() >= 2,
        60,
        interval=0.1,
        what="runs in flight",
    )
    for _ in range(3):  # pool children die; their master replaces them
        children = a.children()
        if children:
            os.kill(rng.choice(children), signal.SIGKILL)
        time.sleep(rng.uniform(0.3, 1.2))
    held_by_b = list(
        {
            s.run_id
            for s in RunStep.objects.filter(run__in=runs, status="running")
            if f":{b.process.pid}:" in s.lease_owner or any(f":{c}:" in s.lease_owner for c in b.children())
        }
    )
    b.kill()  # a whole machine goes away mid-step
    killed_at = time.monotonic()
    start_worker(env=FAST, concurrency=2)
    if held_by_b:
        wait_for(
            lambda: Run.objects.filter(pk__in=held_by_b, status__in=DONE).count() == len(held_by_b),
            120,
            interval=0.2,
            what="the killed worker's runs",
        )
        print(
            f"\nwhole-worker kill: {len(held_by_b)} run(s) recovered in {time.monotonic() - killed_at:.1f}s "
            f"(lease {FAST['FLONIKS_RUN_LEASE_SECONDS']}s, sweep every {FAST['FLONIKS_SWEEP_SECONDS']}s)"
        )
    settled(runs)
    assert Run.objects.filter(pk__in=runs, status=RunStatus.FAILED).count() == 0
    finalise_all(runs, operator)


def still_serving(workers: list[Any]) -> None:
    """Every worker process outlived the fault: none exited, none logged the crash that ends a worker."""
    for worker in workers:
        assert worker.process.poll() is None, f"a worker died (exit {worker.process.poll()}):\n{worker.output()}"
        log = worker.log.read_text(errors="replace")
        assert "Unrecoverable error" not in log, f"a worker crashed:\n{worker.output()}"


def test_redis_restarted_mid_batch(start_worker, make_workflow, publish, operator):
    workflow = batch_workflow(make_workflow, publish)
    worker = start_worker(env=FAST, concurrency=2)
    runs = start_batch(workflow, operator, 8)
    wait_for(lambda: Run.objects.filter(pk__in=runs, status__in=DONE).count() >= 1, 90, what="a first run")
    redis = RedisServer.from_env()
    redis.stop()
    try:
        more = start_batch(workflow, operator, 3)  # started while the broker is down
        time.sleep(3)
    finally:
        redis.start()
    settled(runs + more)
    finalise_all(runs + more, operator)
    still_serving([worker])


def test_workers_outlive_redis_outages_while_pool_processes_die(start_worker, make_workflow, publish, operator):
    """Redis goes away again and again while steps run, and each time a pool process dies just before
    (killed, recycled by --max-memory-per-child, cut by a time limit). Every worker reconnects and keeps
    serving; every run finishes. Without the fix in floniks/celery.py a worker occasionally died here as
    it reconnected (`Unrecoverable error: ValueError('file descriptor is None')`, about once in 100
    outages); tests/test_worker_reconnect.py covers that race deterministically."""
    workflow = batch_workflow(make_workflow, publish)
    spared = start_worker(env=FAST, concurrency=1)  # its pool is spared: some worker always sweeps
    busy = [start_worker(env=FAST, concurrency=2) for _ in range(2)]
    runs = start_batch(workflow, operator, 10)
    rng = random.Random(20261130)
    redis = RedisServer.from_env()
    for _ in range(5):
        wait_for(
            lambda: (
                Run.objects.filter(pk__in=runs, status=RunStatus.RUNNING).exists()
                or Run.objects.filter(pk__in=runs, status__in=DONE).count() == len(runs)
            ),
            60,
            interval=0.1,
            what="runs in flight",
        )
        for worker in busy:
            children = worker.children()
            if children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(rng.choice(children), signal.SIGKILL)
        time.sleep(0.3)
        redis.stop()
        try:
            time.sleep(1.5)
        finally:
            redis.start()
        time.sleep(3)  # the workers reconnect while the dead pool processes are still being replaced
        still_serving([spared, *busy])
    settled(runs)
    finalise_all(runs, operator)
    still_serving([spared, *busy])


def test_postgresql_restarted_mid_batch(start_worker, make_workflow, publish, operator):
    workflow = batch_workflow(make_workflow, publish)
    start_worker(env=FAST, concurrency=2)
    runs = start_batch(workflow, operator, 8)
    wait_for(lambda: Run.objects.filter(pk__in=runs, status__in=DONE).count() >= 1, 90, what="a first run")
    connection.close()
    pg = PostgresServer.from_env()
    pg.stop("fast")  # disconnects every session, workers' included
    time.sleep(2)
    pg.start()
    connection.close()
    settled(runs)
    finalise_all(runs, operator)


def test_crash_between_commit_and_enqueue_is_finished_by_the_sweep(
    start_worker, make_workflow, publish, operator, monkeypatch
):
    workflow = batch_workflow(make_workflow, publish)
    # The process dies right after COMMIT: the run row exists, no message was ever sent.
    monkeypatch.setattr(dispatch, "_send", lambda *args, **kwargs: None)
    runs = start_batch(workflow, operator, 3)
    monkeypatch.undo()
    start_worker(env=FAST)
    settled(runs)
    monkeypatch.setattr(dispatch, "_send", lambda *args, **kwargs: None)
    waiting = list(Run.objects.filter(pk__in=runs).values_list("pk", flat=True))
    for run_id in waiting:  # and again between the annotation's COMMIT and the record's enqueue
        services.finalize_run(actor=operator, run=Run(pk=run_id), label="lost send", annotation=f"kept {run_id}")
    monkeypatch.undo()
    wait_for(
        lambda: VersionRecord.objects.filter(run_id__in=waiting).count() == 3, 60, what="records written by the sweep"
    )
    assert {r.annotation for r in VersionRecord.objects.filter(run_id__in=waiting)} == {f"kept {r}" for r in waiting}


def test_hostile_uploads_leave_the_worker_serving(worker, make_workflow, publish, operator, api):
    """Bombs and broken files are refused at the door; the worker never sees them and keeps running work."""
    import io

    from PIL import Image

    bomb = io.BytesIO()
    Image.new("1", (12000, 12000)).save(bomb, "PNG")
    client = api(operator)
    for name, data in (("bomb.png", bomb.getvalue()), ("cut.png", bomb.getvalue()[:80]), ("x.pdf", b"%PDF-1.4")):
        f = io.BytesIO(data)
        f.name = name
        assert client.post("/api/artifacts/", {"file": f}, format="multipart").status_code == 400
    workflow = make_workflow()
    publish(workflow, small_definition())
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "still here"})
    wait_for(
        lambda: Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_ANNOTATION, 60, what="the worker to run it"
    )
    assert worker.process.poll() is None
