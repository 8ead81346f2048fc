"""Where a step runs and how it is sent there (DESIGN §4).

Each ready step is its own Celery task on its provider's queue (settings map provider → queue),
carrying time limits derived from the step's own policy, so no global limit cuts a long step short.
Sending happens after commit; the RunStep row is the truth, and if the broker is down the sweep
sends the step again later."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)

EXECUTE_STEP = "runs_app.tasks.execute_step"
FINISH_RUN = "runs_app.tasks.finish_run"
WRITE_RECORD = "runs_app.tasks.write_version_record"
SIGN_RECORD = "runs_app.tasks.sign_version_record"
SETTLE_SHEET = "runs_app.tasks.settle_contact_sheet"

# Kombu's Redis transport serves priority 0 first: steps whose worker died jump a backlog.
URGENT = 0
# The cooperative stop at the step's timeout comes first; these only catch a provider that ignores it.
SOFT_LIMIT_GRACE_SECONDS = 15
HARD_LIMIT_GRACE_SECONDS = 45


@dataclass(frozen=True)
class StepPolicy:
    """A step's effective policy: its own where the definition sets one, else its provider's defaults."""

    timeout_seconds: int
    retries: int

    @classmethod
    def of(cls, declared: dict[str, Any] | None, provider: str) -> StepPolicy:
        declared = declared or {}
        timeouts: dict[str, int] = settings.FLONIKS_PROVIDER_TIMEOUTS
        default_timeout = timeouts.get(provider, settings.FLONIKS_DEFAULT_STEP_TIMEOUT_SECONDS)
        return cls(
            timeout_seconds=int(declared.get("timeout_seconds") or default_timeout),
            retries=int(declared.get("retries", settings.FLONIKS_DEFAULT_STEP_RETRIES)),
        )


@dataclass(frozen=True)
class Dispatch:
    """One step to send: which, where, and the time its task may take."""

    run_id: str
    step_pk: int
    queue: str
    timeout_seconds: int


def send_step(step: Dispatch, *, urgent: bool = False) -> None:
    soft = step.timeout_seconds + SOFT_LIMIT_GRACE_SECONDS
    options: dict[str, Any] = {
        "queue": step.queue,
        "soft_time_limit": soft,
        "time_limit": soft + HARD_LIMIT_GRACE_SECONDS,
    }
    if urgent:
        options["priority"] = URGENT
    _send(EXECUTE_STEP, [step.run_id, step.step_pk], options)


def send_steps_on_commit(steps: Iterable[Dispatch]) -> None:
    pending = list(steps)
    if pending:
        transaction.on_commit(lambda: _send_all(pending))


def _send_all(steps: list[Dispatch]) -> None:
    for step in steps:
        send_step(step)


def send_finish(run_id: Any, *, on_commit: bool = False) -> None:
    """Finish a run whose steps have all succeeded (verify a reproduction) on a worker."""
    if on_commit:
        transaction.on_commit(lambda: _send(FINISH_RUN, [str(run_id)], {"priority": URGENT}))
    else:
        _send(FINISH_RUN, [str(run_id)], {"priority": URGENT})


def send_record_write(run_id: Any, *, on_commit: bool = True) -> None:
    if on_commit:
        transaction.on_commit(lambda: _send(WRITE_RECORD, [str(run_id)], {}))
    else:
        _send(WRITE_RECORD, [str(run_id)], {})


def send_sign_record(record_id: Any) -> None:
    """Sign a record's outputs on a worker once the record is committed (the sweep signs what is lost)."""
    transaction.on_commit(lambda: _send(SIGN_RECORD, [str(record_id)], {}))


def send_settle_sheet(sheet_id: Any, *, on_commit: bool = True) -> None:
    """Compose a contact sheet whose cells have all ended (some without an output) on a worker."""
    if on_commit:
        transaction.on_commit(lambda: _send(SETTLE_SHEET, [str(sheet_id)], {}))
    else:
        _send(SETTLE_SHEET, [str(sheet_id)], {})


def _send(task_name: str, args: list[Any], options: dict[str, Any]) -> None:
    # By name, through the current app (the project's, floniks.celery): this layer never imports the project.
    # Sent by name, a message never gets the task's defaults (task_default_priority among them), and
    # kombu's Redis transport files a message without a priority under 0, beside the urgent ones:
    # every message names its priority, so a re-sent step really goes ahead of the backlog.
    options = {"priority": settings.CELERY_TASK_DEFAULT_PRIORITY, **options}
    try:
        current_app.send_task(task_name, args=args, **options)
    except Exception:  # broker unreachable: the sweep will catch up
        log.warning("Could not enqueue %s %s; the sweep will retry", task_name, args, exc_info=True)
