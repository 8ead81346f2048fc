"""Executing one step of a run on a worker (DESIGN §4).

The task passes ids; the RunStep row is the truth. A worker claims the step with a conditional
update, generates it with a watch beside it (lease, progress, cancel, timeout, budget), stores the
output, and the success sends the steps it made ready — but one on the same queue that fits the
task's remaining time limit, which the same task claims and runs next (no broker round trip, no
new task, its input still in this process's memory). Every step is idempotent: the built-in
generators are deterministic and storage is content addressed, so generating a step again after
its worker died gives the same artifact. Every write of state is in runs_app.transitions."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from runs_app import graph, leasing, persistence, transitions, verification
from runs_app.generators import (
    GeneratedFile,
    GeneratorError,
    Provider,
    StepCancelled,
    StepHandle,
    StepRequest,
    TransientGeneratorError,
    get_provider,
)
from runs_app.handover import HandOver
from runs_app.models import Artifact, Run, RunStatus, RunStep, StepStatus
from templates_app.definition import split_model

log = logging.getLogger(__name__)

WORKER_LOST = "worker_lost"
PROVIDER_ERROR = "provider_error"
INTERNAL_ERROR = "internal_error"
# A step run next in the same task keeps at least this much of its task's grace past its own timeout
# (runs_app.dispatch gives a sent step SOFT_LIMIT_GRACE_SECONDS): the task's time limit is the first
# step's, so only steps whose timeout still fits are run next, which in practice means short ones.
CHAIN_GRACE_SECONDS = 5


class StepFailed(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def execute_step(
    run_id: Any, step_pk: int, worker: str, *, limit_at: float | None = None, hand_over: HandOver | None = None
) -> None:
    """Claim and run a step. With `limit_at` (the time.monotonic() instant at which the calling task's
    time limit strikes), a step its success makes ready on the same queue is run next, and so on.
    With `hand_over`, the success of a step nothing waits for is written on that thread (see
    runs_app.handover) and this returns as soon as its output is stored."""
    claimed = _claim(run_id, step_pk, worker)
    if claimed is None:
        return
    run, step = claimed
    thumbnails: list[persistence.Thumbnail] = []  # made while the next step goes on, waited for at the end
    try:
        while True:
            stored = _generate_and_store(run, step, worker)
            if stored is None:
                return
            thumbnails.append(stored.thumbnail)
            if hand_over is not None and not graph.waited_for(run.specification, step.step_id):
                tail, thumbnails = thumbnails, []
                hand_over.submit(functools.partial(_succeed, run, step, worker, stored, None, tail))
                return
            keep = None
            if limit_at is not None:
                keep = transitions.Keep(worker, step.queue, limit_at - time.monotonic() - CHAIN_GRACE_SECONDS)
            kept_pk = _succeed(run, step, worker, stored, keep)
            if kept_pk is None:
                return
            step = RunStep.objects.get(pk=kept_pk)  # claimed for this task with the success
            step.run = run
    finally:
        for thumbnail in thumbnails:
            thumbnail.wait()


def _claim(run_id: Any, step_pk: int, worker: str) -> tuple[Run, RunStep] | None:
    # The version's definition is not needed to execute (the run's specification is): not read or decoded.
    step = (
        RunStep.objects.filter(pk=step_pk, run_id=run_id)
        .select_related("run__version")
        .defer("run__version__definition")
        .first()
    )
    if step is None:
        return None
    run = step.run
    if run.deadline_at is not None and run.deadline_at <= timezone.now():
        transitions.fail_run(run, _budget_message(run), leasing.BUDGET_EXCEEDED)
        return None
    if not transitions.claim_step(run, step, worker):
        return None
    if step.attempts > settings.FLONIKS_MAX_STEP_ATTEMPTS:
        # Every earlier attempt died with its worker (out of memory, killed): stop handing it out.
        message = f"interrupted {step.attempts - 1} times; its worker keeps dying"
        transitions.step_failed(step, worker, message, WORKER_LOST)
        return None
    return run, step


@dataclass(frozen=True)
class Stored:
    """A step generated and its output stored; its success not yet written."""

    output: Artifact
    thumbnail: persistence.Thumbnail
    duration_ms: int
    fingerprint: dict[str, Any]
    submitted: dict[str, Any] | None


def _generate_and_store(run: Run, step: RunStep, worker: str) -> Stored | None:
    """Generate and store a claimed step; None when it failed or stopped (and that is written)."""
    began = time.monotonic()
    try:
        provider = get_provider(step.provider)
        handle = StepHandle(f"{run.pk}:{step.step_id}:{step.attempts}")
        generated = _generate(run, step, worker, provider, handle)
        output, thumbnail = persistence.store_output(generated)
    except DatabaseError:
        raise  # infrastructure, not the step: the lease lapses and the sweep sends the step again
    except StepCancelled:
        transitions.step_stopped(step, worker)
        return None
    except StepFailed as failed:
        transitions.step_failed(step, worker, str(failed), failed.code)
        return None
    except GeneratorError as exc:
        transitions.step_failed(step, worker, str(exc), PROVIDER_ERROR)
        return None
    except SoftTimeLimitExceeded:
        transitions.step_failed(step, worker, _timeout_message(step), leasing.STEP_TIMEOUT)
        return None
    except Exception as exc:  # a bug or a bad input must fail the run, not loop through the sweep forever
        log.exception("Step %s of run %s crashed", step.step_id, run.pk)
        transitions.step_failed(step, worker, f"internal error ({exc.__class__.__name__}: {exc})", INTERNAL_ERROR)
        return None
    duration_ms = int((time.monotonic() - began) * 1000)
    return Stored(output, thumbnail, duration_ms, _fingerprint(provider, step), generated.submitted)


def _succeed(
    run: Run,
    step: RunStep,
    worker: str,
    stored: Stored,
    keep: transitions.Keep | None,
    thumbnails: Sequence[persistence.Thumbnail] = (),
) -> int | None:
    """Write a stored step's success; the pk of the step kept for this task to run next, if any."""
    advance = transitions.step_succeeded(
        step,
        worker,
        output=stored.output,
        duration_ms=stored.duration_ms,
        fingerprint=stored.fingerprint,
        submitted=stored.submitted,
        keep=keep,
    )
    if advance.complete and run.reproduces_id is not None:
        finish_run(run.pk, worker)  # here at once; the message sent on commit then finds nothing to do
    for thumbnail in thumbnails:
        thumbnail.wait()
    return advance.kept.pk if advance.kept is not None else None


def _generate(run: Run, step: RunStep, worker: str, provider: Provider, handle: StepHandle) -> GeneratedFile:
    family, snapshot = split_model(step.model) if step.model else ("", None)
    request = StepRequest(
        kind=step.kind,
        family=family,
        snapshot=snapshot or "",
        seed=step.seed if getattr(provider, "takes_seed", True) else None,
        params={k: v for k, v in step.params.items() if not isinstance(v, dict)},
        images=persistence.input_images(step),
        provenance={
            "manifest_hash": run.version.manifest_hash,
            "spec_hash": run.spec_hash,
            "step": step.step_id,
            "model": step.model,
            "seed": step.seed,
        },
        handle=handle,
    )
    now = time.monotonic()
    budget_at = None
    if run.deadline_at is not None:
        budget_at = now + (run.deadline_at - timezone.now()).total_seconds()
    watch = leasing.StepWatch(
        step_pk=step.pk,
        worker=worker,
        provider=provider,
        handle=handle,
        timeout_at=now + step.timeout_seconds,
        budget_at=budget_at,
    )
    with watch:
        try:
            generated = _with_retries(step, provider, request, watch)
        except GeneratorError:
            if handle.cancelled:  # the provider failed because it was stopped: say why it was stopped
                raise _why_stopped(step, handle) from None
            raise
    if handle.cancelled:
        # A provider that ignored the stop and finished late: its output does not count, the step
        # ends for the reason it was stopped (its timeout, the budget, the run's end).
        raise _why_stopped(step, handle)
    return generated


def _with_retries(step: RunStep, provider: Provider, request: StepRequest, watch: leasing.StepWatch) -> GeneratedFile:
    """Transient provider errors are tried again, `retries` times, with back-off; nothing else is."""
    for attempt in range(step.retries + 1):
        try:
            return provider.generate(request, watch.progress)
        except StepCancelled:
            raise _why_stopped(step, request.handle) from None
        except TransientGeneratorError:
            if attempt == step.retries:
                raise
            pause = min(2**attempt, settings.FLONIKS_RETRY_BACKOFF_MAX_SECONDS)
            log.info("Step %s: transient provider error, trying again in %s s", step.step_id, pause)
            if request.handle.wait_cancelled(pause):
                raise _why_stopped(step, request.handle) from None
    raise AssertionError("unreachable")


def _why_stopped(step: RunStep, handle: StepHandle) -> Exception:
    if handle.reason == leasing.STEP_TIMEOUT:
        return StepFailed(_timeout_message(step), leasing.STEP_TIMEOUT)
    if handle.reason == leasing.BUDGET_EXCEEDED:
        return StepFailed(_budget_message(step.run), leasing.BUDGET_EXCEEDED)
    return StepCancelled(handle.reason)


def _timeout_message(step: RunStep) -> str:
    return f"it took longer than its {step.timeout_seconds} s timeout (step_timeout)"


def _budget_message(run: Run) -> str:
    budget = (run.specification.get("policy") or {}).get("budget") or {}
    return f"the run used up its budget of {budget.get('max_seconds')} s (budget_exceeded)"


def _fingerprint(provider: Provider, step: RunStep) -> dict[str, Any]:
    family, snapshot = split_model(step.model) if step.model else ("", None)
    try:
        return dict(provider.fingerprint(family, snapshot or ""))
    except Exception:  # a fingerprint is evidence, not a reason to lose a generated output
        log.warning("Provider could not fingerprint step %s", step.step_id, exc_info=True)
        return {}


def finish_run(run_id: Any, worker: str) -> None:
    """Every step succeeded: compute a reproduction's verdict and finish it (once, by one worker)."""
    run = transitions.claim_finish(run_id, worker)
    if run is None:
        return
    verdict, scores = verification.verify(run)
    transitions.settle_reproduction(run, worker, verdict, scores)


def run_inline(run_id: Any, worker: str = "inline") -> Run:
    """Execute every step of a run in this process, in graph order, as workers would (tests, tools)."""
    while True:
        step = (
            RunStep.objects.filter(run_id=run_id, status=StepStatus.QUEUED).order_by("index").values("pk").first()
            or RunStep.objects.filter(run_id=run_id, status=StepStatus.RUNNING, lease_expires_at__lt=timezone.now())
            .order_by("index")
            .values("pk")
            .first()
        )
        if step is None:
            break
        execute_step(run_id, step["pk"], worker)
    if Run.objects.filter(pk=run_id, status=RunStatus.RUNNING, reproduces__isnull=False).exists():
        finish_run(run_id, worker)
    return Run.objects.get(pk=run_id)
