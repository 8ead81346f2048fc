"""Every change of state of a run, its steps and its reproduction check, each written once.

The engine and runs_app.services call these; nothing else writes those statuses. Each write is
a conditional UPDATE, so it is also the check: a transition that no longer applies (another
worker took the run over, a cancel came first) changes nothing and returns False."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from runs_app.models import Artifact, ReproductionCheck, Run, RunStatus, RunStep, StepStatus, Verdict

# --- the run and its lease ---------------------------------------------------------------


def lease_seconds() -> int:
    return int(settings.FLONIKS_RUN_LEASE_SECONDS)


def claim_run(run_id: Any, worker: str) -> bool:
    """Take a queued run, or one whose worker's lease expired. Exactly one worker wins."""
    now = timezone.now()
    taken = (
        Run.objects.filter(pk=run_id)
        .filter(Q(status=RunStatus.QUEUED) | Q(status=RunStatus.RUNNING, lease_expires_at__lt=now))
        .update(
            status=RunStatus.RUNNING,
            lease_owner=worker,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds()),
            started_at=Coalesce("started_at", now),
        )
    )
    return taken == 1


def renew_lease(run_id: Any, worker: str, *, unless_cancelled: bool = False) -> bool:
    """Extend the lease; False when the worker no longer holds it (or, if asked, when a cancel was requested)."""
    expires = timezone.now() + dt.timedelta(seconds=lease_seconds())
    held = Run.objects.filter(pk=run_id, lease_owner=worker, status=RunStatus.RUNNING)
    if unless_cancelled:
        held = held.filter(cancel_requested=False)
    return held.update(lease_expires_at=expires) == 1


def request_cancel(run: Run) -> None:
    """A worker holds the run: it stops before its next step and ends the run as cancelled."""
    run.cancel_requested = True
    run.save(update_fields=["cancel_requested"])


def end_run(run: Run, status: RunStatus, *, worker: str | None = None, unless_cancelled: bool = False) -> bool:
    """The one write that ends a run: its final status and `run.error`, and the lease released.

    A cancelled run's unfinished steps are cancelled, and a reproduction that did not finish
    fails its check. With `worker`, only while that worker holds the run (and, if asked, while
    nobody asked to cancel it); without, the caller holds the run's row lock."""
    held = Run.objects.filter(pk=run.pk)
    if worker is not None:
        held = held.filter(lease_owner=worker)
    if unless_cancelled:
        held = held.filter(cancel_requested=False)
    fields: dict[str, Any] = {
        "status": status,
        "finished_at": timezone.now(),
        "lease_owner": "",
        "lease_expires_at": None,
        "error": run.error,
    }
    if status == RunStatus.CANCELLED:
        fields["cancel_requested"] = True
    if status == RunStatus.AWAITING_ANNOTATION:
        ended = held.update(**fields) == 1  # the common case is one statement: no transaction round trips
    else:
        with transaction.atomic(savepoint=False):  # inside a caller's transaction, no savepoint round trips
            ended = held.update(**fields) == 1
            if ended and status == RunStatus.CANCELLED:
                RunStep.objects.filter(run=run, status__in=[StepStatus.PENDING, StepStatus.RUNNING]).update(
                    status=StepStatus.CANCELLED
                )
            if ended and status in (RunStatus.FAILED, RunStatus.CANCELLED) and run.reproduces_id:
                fail_check(run, run.error or "cancelled")
    if ended:
        for name, value in fields.items():
            setattr(run, name, value)
    return ended


def fail_at_step(run: Run, step: RunStep, worker: str, message: str) -> bool:
    """A step failed for good: the run fails with it, if this worker still holds the run."""
    run.error = f"Step '{step.step_id}' failed: {message}"
    with transaction.atomic():
        failed = end_run(run, RunStatus.FAILED, worker=worker)
        if failed:
            RunStep.objects.filter(pk=step.pk).update(
                status=StepStatus.FAILED, error=message, finished_at=timezone.now()
            )
    return failed


def mark_resent(run_ids: list[Any], now: dt.datetime) -> None:
    """The sweep sent these runs to the queue again (it re-sends a run at most once per interval)."""
    Run.objects.filter(pk__in=run_ids).update(last_enqueued_at=now)


# --- steps ---------------------------------------------------------------------------------


def start_step(run: Run, step: RunStep, worker: str) -> bool:
    """Count an attempt and mark the step running, only while the run is still this worker's
    and nobody asked to cancel it (the heartbeat keeps the lease itself fresh)."""
    attempts = step.attempts + 1
    ours = Run.objects.filter(pk=run.pk, lease_owner=worker, status=RunStatus.RUNNING, cancel_requested=False)
    started = RunStep.objects.filter(pk=step.pk).filter(Exists(ours))
    if not started.update(status=StepStatus.RUNNING, started_at=timezone.now(), error="", attempts=attempts):
        return False
    step.attempts = attempts
    return True


def step_succeeded(step_pk: int, output: Artifact, duration_ms: int) -> None:
    """A step counts as done only once its output is stored."""
    RunStep.objects.filter(pk=step_pk).update(
        status=StepStatus.SUCCEEDED, output=output, finished_at=timezone.now(), duration_ms=duration_ms
    )


# --- reproduction checks --------------------------------------------------------------------


def fail_check(run: Run, note: str) -> None:
    """A reproduction that did not finish leaves a failed check, never a pending one."""
    ReproductionCheck.objects.filter(run=run, verdict=Verdict.PENDING).update(
        verdict=Verdict.FAILED, completed_at=timezone.now(), note=note
    )


def settle_reproduction(run: Run, worker: str, verdict: Verdict, scores: dict[str, float]) -> bool:
    """Store the verdict and finish the reproduction together, if this worker still holds the run."""
    with transaction.atomic():
        ReproductionCheck.objects.filter(run=run).update(verdict=verdict, scores=scores, completed_at=timezone.now())
        if not end_run(run, RunStatus.FINALIZED, worker=worker):
            transaction.set_rollback(True)  # another worker holds the run now: its verdict counts, not ours
            return False
    return True
