"""Celery tasks: thin, idempotent wrappers that pass ids to the engine and services.

acks_late + reject_on_worker_lost: a message is acknowledged only after its
work is done, so a killed worker's run is delivered again; the claim makes a
second delivery harmless, and the sweep covers whatever the broker loses."""

from __future__ import annotations

import os
import socket

from celery import Task, shared_task

from runs_app import engine, services


@shared_task(
    bind=True, name="runs_app.tasks.execute_run", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def execute_run(self: Task, run_id: str) -> None:
    # The lease owner names this very delivery, so a redelivered message never shares a stale lease.
    engine.execute_run(run_id, worker=f"{socket.gethostname()}:{os.getpid()}:{self.request.id}")


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


@shared_task(name="runs_app.tasks.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    return engine.sweep()
