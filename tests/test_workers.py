"""The whole loop on real PostgreSQL, Redis and Celery worker processes:
end to end through the API, a worker killed mid-step, the broker down while
finalising, and many finalisations racing for record numbers."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from django.db import connection

from runs_app import services
from runs_app.models import Run, RunStatus, RunStep, VersionRecord
from testing.services import RedisServer
from tests.helpers import in_threads, png_bytes, run_now, slow_workflow, small_definition, valid_definition, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

FAST_RECOVERY = {"FLONIKS_RUN_LEASE_SECONDS": "4", "FLONIKS_SWEEP_SECONDS": "1", "FLONIKS_REQUEUE_AFTER_SECONDS": "2"}


def _status(client, run_id):
    return client.get(f"/api/runs/{run_id}/").json()


def test_end_to_end_through_the_api(worker, operator, api):
    client = api(operator)
    assert (
        client.post(
            "/api/workflows/", {"slug": "campaign-a-warm-earthy", "name": "Campaign A"}, format="json"
        ).status_code
        == 201
    )
    definition = valid_definition()
    definition["steps"][0]["params"].update(width=256, height=192)
    draft = client.post(
        "/api/workflows/campaign-a-warm-earthy/drafts/", {"definition": definition}, format="json"
    ).json()
    version = client.post(f"/api/drafts/{draft['id']}/publish/", {"visibility": "internal"}, format="json").json()
    reference = client.post("/api/artifacts/", {"file": png_bytes()}, format="multipart").json()
    started = client.post(
        "/api/runs/",
        {"workflow": "campaign-a-warm-earthy", "inputs": {"subject": "a red fox", "reference": reference["sha256"]}},
        format="json",
    )
    assert started.status_code == 201, started.content
    run = started.json()
    assert run["version"] == version["version"] and run["spec_hash"].startswith("sha256:") and run["status"] == "queued"
    seen_progress = set()

    def waiting():
        body = _status(client, run["id"])
        seen_progress.add(body["progress"])
        return body if body["status"] == "awaiting_annotation" else None

    done = wait_for(waiting, 60, what="the worker to run both steps")
    assert done["progress"] == 1.0 and set(done["outputs"]) == {"hero"}
    assert all(s["status"] == "succeeded" and s["outputs"] and s["attempts"] == 1 for s in done["steps"])
    finalised = client.post(
        f"/api/runs/{run['id']}/finalize/",
        {"label": "warmer palette", "annotation": "client asked for warmer tones"},
        format="json",
    )
    assert finalised.status_code == 202
    record_id = wait_for(lambda: _status(client, run["id"])["record_id"], 30, what="the record to be written")
    record = client.get(f"/api/records/{record_id}/").json()
    assert record["label"] == "v1-warmer-palette" and record["number"] == 1
    assert record["workflow"] == "campaign-a-warm-earthy" and record["version"] == version["version"]
    assert record["manifest_hash"] == version["manifest_hash"] and record["spec_hash"] == run["spec_hash"]
    assert record["reference_images"] == [{"sha256": reference["sha256"], "url": reference["url"]}]
    assert record["annotation"] == "client asked for warmer tones" and record["annotated_by"] == operator.username
    for field in ["id", "created_at", "parameters", "seeds", "models", "outputs", "mode"]:
        assert record[field], field
    assert _status(client, run["id"])["status"] == "finalized"


def test_worker_killed_mid_step_recovers_with_exactly_one_record(start_worker, make_workflow, publish, operator):
    workflow = slow_workflow(make_workflow, publish)
    doomed = start_worker(env=FAST_RECOVERY)
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"})
    wait_for(
        lambda: RunStep.objects.filter(run=run, step_id="motion", status="running").exists(),
        60,
        interval=0.05,
        what="the slow step to start",
    )
    time.sleep(0.5)
    doomed.kill()
    killed_at = time.monotonic()
    assert RunStep.objects.get(run=run, step_id="motion").status == "running"
    start_worker(env=FAST_RECOVERY)
    wait_for(lambda: Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_ANNOTATION, 120, what="recovery")
    print(f"\nrecovered a SIGKILLed worker's run in {time.monotonic() - killed_at:.1f}s")
    motion = RunStep.objects.get(run=run, step_id="motion")
    assert motion.status == "succeeded" and motion.attempts == 2 and motion.output is not None
    assert RunStep.objects.get(run=run, step_id="background").attempts == 1  # finished steps are not redone
    services.finalize_run(actor=operator, run=run, label="survivor", annotation="made it through a crash")
    wait_for(lambda: VersionRecord.objects.filter(run=run).exists(), 60, what="the record")
    time.sleep(2)  # let any duplicate delivery or sweep pass by
    assert VersionRecord.objects.filter(run=run).count() == 1
    assert Run.objects.get(pk=run.pk).status == RunStatus.FINALIZED


def test_broker_down_while_finalising_keeps_the_annotation(start_worker, make_workflow, publish, operator, api):
    workflow = make_workflow()
    publish(workflow, small_definition())
    start_worker(env=FAST_RECOVERY)
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a heron"})
    wait_for(lambda: Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_ANNOTATION, 60, what="the run")
    redis = RedisServer.from_env()
    redis.stop()
    try:
        began = time.monotonic()
        response = api(operator).post(
            f"/api/runs/{run.pk}/finalize/",
            {"label": "heron", "annotation": "kept while Redis was down"},
            format="json",
        )
        assert response.status_code == 202 and time.monotonic() - began < 15
        stored = Run.objects.get(pk=run.pk)
        assert stored.annotation == "kept while Redis was down"
        # The record-write message was lost, but the sweep runs beside the worker's pool, not through
        # the broker: the record is written while Redis is still down.
        record = wait_for(
            lambda: VersionRecord.objects.filter(run=run).first(), 60, what="the record, written by the sweep"
        )
    finally:
        redis.start()
    assert record.annotation == "kept while Redis was down" and record.number == 1
    assert VersionRecord.objects.filter(run=run).count() == 1


def test_fifty_concurrent_finalisations_number_1_to_50(make_workflow, publish, operator):
    if connection.vendor != "postgresql":
        pytest.fail("Needs PostgreSQL: run through `make test`.")
    workflow = make_workflow()
    publish(workflow, small_definition(width=64, height=64, steps=4))
    runs = [
        run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": f"take {i}"}))
        for i in range(50)
    ]

    def finalise(i: int) -> None:
        run = runs[i]
        services.finalize_run(actor=operator, run=run, label=f"take {run.inputs['subject']}", annotation="race")
        services.write_record(run_id=run.pk)

    assert in_threads(len(runs), finalise) == []
    numbers = sorted(VersionRecord.objects.filter(workflow=workflow).values_list("number", flat=True))
    assert numbers == list(range(1, 51))
    labels = set(VersionRecord.objects.values_list("label", flat=True))
    assert len(labels) == 50 and all(label.startswith("v") for label in labels)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_pool_process_hands_over_to_a_companion_that_ends_with_it(worker, make_workflow, publish, operator):
    """Each pool process forks one companion that writes what it hands over (runs_app.handover); one
    killed outright leaves no companion behind, and the worker's new pool process has its own."""
    workflow = make_workflow()
    publish(workflow, small_definition())
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a wren"})
    wait_for(lambda: Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_ANNOTATION, 60, what="the run")
    [pool] = worker.children()
    found = subprocess.run(["pgrep", "-P", str(pool)], capture_output=True, text=True).stdout.split()
    assert len(found) == 1, "one companion per pool process"
    companion = int(found[0])
    os.kill(pool, signal.SIGKILL)
    wait_for(lambda: not _running(companion), 10, what="the companion to end with its pool process")
    second = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a second wren"})
    wait_for(lambda: Run.objects.get(pk=second.pk).status == RunStatus.AWAITING_ANNOTATION, 60, what="the next run")
