"""Enqueueing after commit. The Run row is the truth: if the broker is down the
send fails quietly, and the periodic sweep sends it again later."""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import current_app
from django.db import transaction

log = logging.getLogger(__name__)


def send(task_name: str, run_id: str) -> None:
    # By name, through the current app (the project's, floniks.celery): this layer never imports the project.
    try:
        current_app.send_task(task_name, args=[run_id])
    except Exception:  # broker unreachable: the sweep will catch up
        log.warning("Could not enqueue %s for run %s; the sweep will retry", task_name, run_id, exc_info=True)


def enqueue_on_commit(task_name: str, run_id: str) -> None:
    callback: Callable[[], None] = lambda: send(task_name, run_id)  # noqa: E731
    transaction.on_commit(callback)


EXECUTE_RUN = "runs_app.tasks.execute_run"
WRITE_RECORD = "runs_app.tasks.write_version_record"
