"""Executing one step of a run on a worker (DESIGN §4).

The task passes ids; the RunStep row is the truth. A worker claims the step with a conditional
update, generates it with a watch beside it (lease, progress, cancel, timeout, budget), stores the
output, and the success sends the steps it made ready — but one on the same queue that fits the
task's remaining time limit, which the success claims for this task, which runs it next (no broker
round trip, no new task, its input still in this process's memory). A task whose steps leave it
nothing to run takes the step waiting longest on its queue, while its time limit has room for it;
that step's own message then finds it taken and does nothing.

On a worker, claims, successes and the reads of what comes next are written on the process's
hand-over (runs_app.handover: a companion process) while the main thread generates: a step whose
provider `runs_ahead` starts before its claim is written (and stops, unwritten, if the claim does
not come), and what the task runs next was read while the step before it generated. Every step is
idempotent: the built-in generators are deterministic and storage is content addressed, so
generating a step again after its worker died gives the same artifact. Every write of state is in
runs_app.transitions."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError
from django.db.models import QuerySet
from django.utils import timezone

from runs_app import evidence, graph, leasing, persistence, transitions, verification
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
from runs_app.handover import Answer, HandsOver, run_here
from runs_app.models import RUNS_WITHOUT_RECORD, Run, RunStatus, RunStep, StepStatus
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
    run_id: Any, step_pk: int, worker: str, *, limit_at: float | None = None, hand_over: HandsOver | None = None
) -> None:
    """Claim and run a step. With `limit_at` (the time.monotonic() instant at which the calling task's
    time limit strikes), a step its success makes ready on the same queue is run next, and so on.

    A step's output is stored and its success written after it is generated: with `hand_over` (a
    worker process's companion or thread, runs_app.handover) there, and meanwhile the next step — when
    this task made all it reads and its provider runs ahead — already generates, before the success
    that claims it for this task is written; the last is left there when this returns. With it too,
    a task with nothing left to run takes the step waiting longest on its queue (`_next_waiting`).
    Without `hand_over`, everything is written here, in order, and only this run's steps are run."""
    started = _start(run_id, step_pk, worker, hand_over)
    if started is None:
        return
    run, step, claim = started  # `claim`: whether `step` is this task's (one started ahead may not be)
    made: set[str] = set()  # the steps this task generated
    unwritten: dict[str, bytes] = {}  # the last one's output, perhaps not yet stored: a step ahead reads it
    last: Future[int | None] | None = None  # the success being written
    try:
        while True:
            upcoming = _look_ahead(run, step, made, limit_at, hand_over)
            generated = _generate_checked(run, step, worker, claim, unwritten)
            if generated is None:
                return
            # This step's claim holds, so every success before it is written and its output stored.
            made.add(step.step_id)
            unwritten = {step.step_id: generated.file.data}
            keep = ahead = None
            if limit_at is not None and graph.waited_for(run.specification, step.step_id):
                remaining = limit_at - time.monotonic() - CHAIN_GRACE_SECONDS
                ahead = _step_ahead(run, step, made, remaining, upcoming) if hand_over is not None else None
                keep = transitions.Keep(worker, step.queue, remaining, only=ahead.step_id if ahead else None)
            last = _write(hand_over, functools.partial(_store_and_succeed, run, step, worker, generated, keep))
            if ahead is not None:
                step, claim = ahead, _claimed_if(last, ahead.pk)
                continue
            # Nothing to start ahead: wait for the step kept for this task, if one can be.
            kept_pk = last.result() if keep is not None else None
            if kept_pk is not None:
                step, claim = RunStep.objects.get(pk=kept_pk), _settled(True)  # claimed with the success
                step.run = run
                continue
            pulled = _next_waiting(step.queue, worker, limit_at, hand_over, upcoming) if limit_at is not None else None
            if pulled is None:
                last = None  # written on after this task returns
                return
            run, step, claim = pulled
            made, unwritten = set(), {}
    finally:
        if last is not None:
            last.exception()  # a success this task left unwritten is written before it ends


def _write(hand_over: HandsOver | None, job: Callable[[], Answer | None]) -> Future[int | None]:
    return hand_over.submit(job) if hand_over is not None else run_here(job)


def _settled(value: bool) -> Future[bool]:
    future: Future[bool] = Future()
    future.set_result(value)
    return future


def _held(written: Future[Any]) -> Future[bool]:
    """Whether a claim being written took the step (false if writing it failed)."""
    claim: Future[bool] = Future()
    written.add_done_callback(lambda done: claim.set_result(done.exception() is None and done.result() is True))
    return claim


def _claimed_if(success: Future[int | None], step_pk: int) -> Future[bool]:
    """Whether the success being written keeps `step_pk` for this task (false if it fails)."""
    claim: Future[bool] = Future()

    def settle(done: Future[int | None]) -> None:
        claim.set_result(done.exception() is None and done.result() == step_pk)

    success.add_done_callback(settle)
    return claim


def _look_ahead(
    run: Run, step: RunStep, made: set[str], limit_at: float | None, hand_over: HandsOver | None
) -> Future[RunStep | None] | None:
    """Read, on the hand-over while `step` generates, what this task may run after it: the step of its
    run that its success makes ready (`_step_ahead`) or, when no step waits for it, the step waiting
    longest on its queue (`_next_waiting`). Read then, those reads cost the task no time."""
    if limit_at is None or hand_over is None:
        return None
    if graph.waited_for(run.specification, step.step_id):
        following = _following(run, step, made | {step.step_id})
        return hand_over.submit(functools.partial(_step_of, run.pk, following)) if following else None
    remaining = limit_at - time.monotonic() - CHAIN_GRACE_SECONDS
    return hand_over.submit(functools.partial(_waiting_on, step.queue, remaining))


def _step_of(run_id: Any, step_id: str) -> RunStep | None:
    return RunStep.objects.filter(run_id=run_id, step_id=step_id).first()


def _waiting_on(queue: str, max_timeout_seconds: float) -> RunStep | None:
    return transitions.next_waiting(_reads().filter(timeout_seconds__lte=max_timeout_seconds), queue, timezone.now())


def _looked_up(upcoming: Future[RunStep | None]) -> RunStep | None:
    return upcoming.result() if upcoming.exception() is None else None  # not read: nothing run next


def _following(run: Run, step: RunStep, made: set[str]) -> str | None:
    """The first step that reads `step` and only steps this task made (so nothing else can release or
    take it). Never across a gate (the run may pause)."""
    specification = run.specification
    if graph.gates(specification):
        return None
    following = [
        s["id"]
        for index, s in enumerate(specification["steps"])
        if s["id"] not in made and step.step_id in (needs := graph.after(specification, index)) and set(needs) <= made
    ]
    return following[0] if following else None


def _step_ahead(
    run: Run, step: RunStep, made: set[str], remaining: float, upcoming: Future[RunStep | None] | None
) -> RunStep | None:
    """The step that `step`'s success will keep for this task, to start before that is written: the
    one `_following`, on the same queue, whose timeout fits and whose provider runs ahead."""
    following = _following(run, step, made)
    if following is None:
        return None
    candidate = _looked_up(upcoming) if upcoming is not None else _step_of(run.pk, following)
    if candidate is None or candidate.step_id != following:
        return None
    if candidate.status != StepStatus.PENDING or candidate.queue != step.queue:
        return None
    if candidate.timeout_seconds > remaining or not getattr(get_provider(candidate.provider), "runs_ahead", False):
        return None
    candidate.run = run
    candidate.attempts += 1  # as its claim will count it
    return candidate


def _start(
    run_id: Any, step_pk: int, worker: str, hand_over: HandsOver | None
) -> tuple[Run, RunStep, Future[bool]] | None:
    """Read a task's step and claim it. When its provider runs ahead and the claim decides nothing the
    generation needs first (no budget to start, no attempt limit to reach), the claim is handed over,
    written beside the generation, as for a step started ahead: a task's first step starts after one
    read instead of after the claim's writes; if another worker took it meanwhile, it stops unwritten."""
    step = _read(run_id, step_pk)
    return _begin(step, worker, hand_over) if step is not None else None


def _next_waiting(
    queue: str, worker: str, limit_at: float, hand_over: HandsOver | None, upcoming: Future[RunStep | None] | None
) -> tuple[Run, RunStep, Future[bool]] | None:
    """A task whose steps leave it nothing to run next takes the step waiting longest on its queue
    (a dead worker's step first) that fits its time limit, rather than return for the broker to hand
    this process that step's message: a run then starts without the round trip. The message, when it
    comes, finds its step taken and does nothing. Only with a hand-over (a worker's task), and only
    for as long as the task's time limit leaves room for such a step, so other queues a worker listens
    to wait at most that long."""
    step = _looked_up(upcoming) if hand_over is not None and upcoming is not None else None
    if step is None or step.queue != queue:  # (what was read may be a step of this run, on another queue)
        return None
    if step.timeout_seconds > limit_at - time.monotonic() - CHAIN_GRACE_SECONDS:
        return None
    return _begin(step, worker, hand_over)


def _begin(step: RunStep, worker: str, hand_over: HandsOver | None) -> tuple[Run, RunStep, Future[bool]] | None:
    run, now = step.run, timezone.now()
    if not transitions.may_claim(run, step, now):
        return None  # done, or taken by another worker: a repeated message, nothing to claim
    if run.deadline_at is not None and run.deadline_at <= now:
        transitions.fail_over_budget(run)
        return None
    if hand_over is not None and _claims_beside(run, step, now):
        # The job gets copies: on a hand-over thread it must not change the objects this thread uses.
        claim = functools.partial(transitions.claim_step, copy.copy(run), copy.copy(step), worker, now=now)
        written = hand_over.submit(claim)
        transitions.as_claimed(step, worker, now)
        if run.status == RunStatus.QUEUED:
            run.status = RunStatus.RUNNING  # as its first claim starts it
        return run, step, _held(written)
    claimed = _claim(run, step, worker)
    return (*claimed, _settled(True)) if claimed is not None else None


def _reads() -> QuerySet[RunStep]:
    # The version's definition is not needed to execute (the run's specification is): not read or decoded.
    return RunStep.objects.select_related("run__version").defer("run__version__definition")


def _read(run_id: Any, step_pk: int) -> RunStep | None:
    return _reads().filter(pk=step_pk, run_id=run_id).first()


def _claims_beside(run: Run, step: RunStep, now: dt.datetime) -> bool:
    starts_budget = run.status == RunStatus.QUEUED and bool(
        ((run.specification.get("policy") or {}).get("budget") or {}).get("max_seconds")
    )  # its claim sets the deadline this step runs under
    return (
        step.attempts < settings.FLONIKS_MAX_STEP_ATTEMPTS
        and not starts_budget
        and getattr(get_provider(step.provider), "runs_ahead", False)
    )


def _claim(run: Run, step: RunStep, worker: str) -> tuple[Run, RunStep] | None:
    if not transitions.claim_step(run, step, worker):
        return None
    if step.attempts > settings.FLONIKS_MAX_STEP_ATTEMPTS:
        # Every earlier attempt died with its worker (out of memory, killed): stop handing it out.
        message = f"interrupted {step.attempts - 1} times; its worker keeps dying"
        transitions.step_failed(step, worker, message, WORKER_LOST)
        return None
    return run, step


@dataclass(frozen=True)
class Generated:
    """A step generated by this worker, which holds its claim; not yet stored."""

    file: GeneratedFile
    duration_ms: int
    fingerprint: dict[str, Any]


def _generate_checked(
    run: Run, step: RunStep, worker: str, claim: Future[bool], unwritten: dict[str, bytes]
) -> Generated | None:
    """Generate a step; None when it failed or stopped (and that is written), or when it was started
    ahead and its claim did not come (and nothing of it is written)."""
    began = time.monotonic()
    try:
        provider = get_provider(step.provider)
        handle = StepHandle(f"{run.pk}:{step.step_id}:{step.attempts}")
        generated = _generate(run, step, worker, provider, handle, claim, unwritten)
        ended = None
    except DatabaseError:
        raise  # infrastructure, not the step: the lease lapses and the sweep sends the step again
    except StepCancelled:
        ended = ("", leasing.CANCELLED)
    except StepFailed as failed:
        ended = (str(failed), failed.code)
    except GeneratorError as exc:
        ended = (str(exc), PROVIDER_ERROR)
    except SoftTimeLimitExceeded:
        ended = (_timeout_message(step), leasing.STEP_TIMEOUT)
    except Exception as exc:  # a bug or a bad input must fail the run, not loop through the sweep forever
        log.exception("Step %s of run %s crashed", step.step_id, run.pk)
        ended = (f"internal error ({exc.__class__.__name__}: {exc})", INTERNAL_ERROR)
    if not claim.result():
        return None  # started ahead, and another outcome came first (the run paused, ended or failed)
    if ended is None:
        return Generated(generated, int((time.monotonic() - began) * 1000), _fingerprint(provider, step))
    message, code = ended
    if code == leasing.CANCELLED:
        transitions.step_stopped(step, worker)
    else:
        transitions.step_failed(step, worker, message, code)
    return None


def _store_and_succeed(
    run: Run, step: RunStep, worker: str, generated: Generated, keep: transitions.Keep | None
) -> Answer | None:
    """Store a generated step's output and write its success (its thumbnail made on the side); the
    pk of the step kept for this task to run next, if any, answered before the thumbnail is done."""
    try:
        output, thumbnail = persistence.store_output(generated.file)
    except DatabaseError:
        raise
    except Exception as exc:  # storage refusing it: the step fails, rather than loop through the sweep
        log.exception("The output of step %s of run %s could not be stored", step.step_id, run.pk)
        transitions.step_failed(step, worker, f"its output could not be stored ({exc})", INTERNAL_ERROR)
        return None
    try:
        advance = transitions.step_succeeded(
            step,
            worker,
            output=output,
            duration_ms=generated.duration_ms,
            fingerprint=generated.fingerprint,
            submitted=generated.file.submitted,
            keep=keep,
        )
        if advance.complete and not run.writes_record:
            finish_run(run.pk, worker)  # here at once; the message sent on commit then finds nothing to do
    except BaseException:
        thumbnail.wait()
        raise
    return Answer(advance.kept.pk if advance.kept is not None else None, thumbnail.wait)


def _generate(
    run: Run,
    step: RunStep,
    worker: str,
    provider: Provider,
    handle: StepHandle,
    claim: Future[bool],
    unwritten: dict[str, bytes],
) -> GeneratedFile:
    family, snapshot = split_model(step.model) if step.model else ("", None)
    request = StepRequest(
        kind=step.kind,
        family=family,
        snapshot=snapshot or "",
        seed=step.seed if getattr(provider, "takes_seed", True) else None,
        params={k: v for k, v in step.params.items() if not persistence.is_image_binding(v)},
        images=persistence.input_images(step, unwritten),
        provenance={
            "manifest_hash": run.version.manifest_hash,
            "spec_hash": run.spec_hash,
            "step": step.step_id,
            "model": step.model,
            "seed": step.seed,
        },
        handle=handle,
        verifying=run.reproduces_id is not None,
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
        claim=None if claim.done() and claim.result() else claim,
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
        return StepFailed(transitions.budget_message(step.run), leasing.BUDGET_EXCEEDED)
    return StepCancelled(handle.reason)


def _timeout_message(step: RunStep) -> str:
    return f"it took longer than its {step.timeout_seconds} s timeout (step_timeout)"


def _fingerprint(provider: Provider, step: RunStep) -> dict[str, Any]:
    family, snapshot = split_model(step.model) if step.model else ("", None)
    try:
        return dict(provider.fingerprint(family, snapshot or ""))
    except Exception:  # a fingerprint is evidence, not a reason to lose a generated output
        log.warning("Provider could not fingerprint step %s", step.step_id, exc_info=True)
        return {}


def finish_run(run_id: Any, worker: str) -> None:
    """Every step of a run that leaves no record succeeded: compute a reproduction's verdict, or end an
    evaluation's or a contact sheet's run and settle what it feeds (once, by one worker)."""
    run = transitions.claim_finish(run_id, worker)
    if run is None:
        return
    if run.reproduces_id is None:
        if transitions.end_run(run, RunStatus.FINALIZED, worker=worker):
            evidence.settle_for(run)  # after the run's end is committed: the last of its siblings settles
        return
    outcome = verification.compare_outputs(run)
    transitions.settle_reproduction(run, worker, outcome.verdict, outcome.scores, outcome.differences)


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
    if Run.objects.filter(pk=run_id, status=RunStatus.RUNNING, purpose__in=RUNS_WITHOUT_RECORD).exists():
        finish_run(run_id, worker)
    return Run.objects.get(pk=run_id)
