"""Celery tasks: thin, idempotent wrappers that pass ids to the step executor and services.

acks_late + reject_on_worker_lost: a message is acknowledged only after its work is done, so a
killed worker's step is delivered again; the claim makes a second delivery harmless, and the sweep
covers whatever the broker loses. A step's message carries its own time limits (runs_app.dispatch)."""

from __future__ import annotations

import os
import socket
import time

from celery import Task, shared_task
from celery.signals import worker_process_init, worker_process_shutdown, worker_shutdown

from runs_app import evidence, execution, services
from runs_app import sweep as sweeping
from runs_app.handover import HAND_OVER


@worker_process_init.connect
def _start_hand_over_process(**kwargs: object) -> None:
    """A pool process writes what it hands over in a companion process of its own (runs_app.handover),
    forked now, while it has no threads and no connections of its own."""
    HAND_OVER.start_companion()


@worker_process_shutdown.connect
@worker_shutdown.connect
def _write_what_was_handed_over(**kwargs: object) -> None:
    """A pool process leaving (shutdown, recycling) first writes the successes it was handed; so does
    a worker whose tasks run in its main process (the solo pool). Elsewhere it holds none."""
    HAND_OVER.stop()


def _worker(task: Task) -> str:
    # The lease owner names this very delivery, so a redelivered message never shares a stale lease.
    return f"{socket.gethostname()}:{os.getpid()}:{task.request.id}"


@shared_task(
    bind=True, name="runs_app.tasks.execute_step", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def execute_step(self: Task, run_id: str, step_pk: int) -> None:
    execution.execute_step(run_id, step_pk, worker=_worker(self), limit_at=_limit_at(self), hand_over=HAND_OVER)


def _limit_at(task: Task) -> float | None:
    """When this task's soft time limit (or, without one, its hard limit) strikes, in time.monotonic()
    terms; None when the message carries none (then nothing is run in this task beyond its own step)."""
    hard, soft = task.request.timelimit or (None, None)
    limit = soft or hard
    return time.monotonic() + float(limit) if limit else None


@shared_task(
    bind=True, name="runs_app.tasks.finish_run", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def finish_run(self: Task, run_id: str) -> None:
    execution.finish_run(run_id, worker=_worker(self))


@shared_task(name="runs_app.tasks.execute_run", ignore_result=True)
def execute_run(run_id: str) -> None:
    """Messages queued before steps became the unit of execution: the sweep releases their steps."""


@shared_task(
    name="runs_app.tasks.write_version_record",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def write_version_record(run_id: str) -> None:
    services.write_record(run_id=run_id)


@shared_task(
    name="runs_app.tasks.sign_version_record",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=3,
)
def sign_version_record(record_id: str) -> None:
    """Failing for good (signing is down) leaves the record "signing pending"; the sweep signs it later."""
    services.sign_record(record_id=record_id)


@shared_task(name="runs_app.tasks.settle_contact_sheet", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def settle_contact_sheet(sheet_id: str) -> None:
    evidence.settle_sheet(sheet_id)


@shared_task(name="runs_app.tasks.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    """By hand (`celery -A floniks call runs_app.tasks.sweep`); workers sweep on their own thread."""
    return sweeping.sweep()
