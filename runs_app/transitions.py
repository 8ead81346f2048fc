"""Every change of state of a run, its steps, its gates and its reproduction check, each written once.

Services, tasks, the step executor and the sweep call these; nothing else writes those statuses.
Each write is a conditional UPDATE, so it is also the check: a transition that no longer applies
(another worker took the step over, the run was cancelled or failed meanwhile) changes nothing and
says so. Deciding what runs next (the step graph, gates, completion) happens under the run's row
lock, so two branches finishing at once release a join step exactly once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from runs_app import graph, recording
from runs_app.dispatch import Dispatch, send_finish, send_settle_sheet, send_steps_on_commit
from runs_app.models import (
    FINALIZABLE,
    RUNS_WITHOUT_RECORD,
    Artifact,
    ContactSheetCell,
    Evaluation,
    EvidenceStatus,
    ReproductionCheck,
    Run,
    RunGate,
    RunPurpose,
    RunStatus,
    RunStep,
    StepStatus,
    Verdict,
    VersionRecord,
)

# What deciding and sending the next steps reads of a run and its steps, no more.
LOCKED_RUN_FIELDS = ("id", "status", "reproduces_id", "purpose", "error", "error_code", "deadline_at", "gate_after")
DISPATCH_FIELDS = ("pk", "run_id", "step_id", "status", "queue", "timeout_seconds")
UNFINISHED_STEPS = (StepStatus.PENDING, StepStatus.QUEUED, StepStatus.RUNNING)
# A step is generated while its run is running; one already generating may finish while the run waits at a gate.
GENERATING_RUN = (RunStatus.RUNNING, RunStatus.AWAITING_GATE)
# A queued step starts only while its run goes on (a run's first claim starts it).
STARTING_RUN = (RunStatus.QUEUED, RunStatus.RUNNING)
BUDGET_EXCEEDED = "budget_exceeded"


def lease_seconds() -> int:
    return int(settings.FLONIKS_RUN_LEASE_SECONDS)


def _lease_end(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=lease_seconds())


def dispatch_of(step: RunStep) -> Dispatch:
    return Dispatch(str(step.run_id), step.pk, step.queue, step.timeout_seconds)


# --- starting --------------------------------------------------------------------------------


def send_first_steps(steps: list[RunStep]) -> None:
    """A new run's steps were created (in the caller's transaction) with those that read no other
    step already queued: send those on commit."""
    send_steps_on_commit(dispatch_of(s) for s in steps if s.status == StepStatus.QUEUED)


def release_ready_steps(run: Run) -> list[RunStep]:
    """Queue and send the steps whose inputs have all succeeded (the caller holds the run's row lock)."""
    rows = list(RunStep.objects.filter(run=run).order_by("index").only(*DISPATCH_FIELDS))
    return _release(run, rows, timezone.now())[0]


def claim_step(run: Run, step: RunStep, worker: str, *, now: dt.datetime | None = None) -> bool:
    """Take a queued step, or one whose worker's lease expired. Exactly one worker wins; a run that
    was cancelled or failed meanwhile gives nothing. `now`: when the step started, if it started
    before its claim was written (runs_app.execution)."""
    now = now or timezone.now()
    run_is = Run.objects.filter(pk=OuterRef("run_id"))
    # A queued step starts only while its run goes on; one whose worker died may finish at a gate too.
    queued = Q(Q(status=StepStatus.QUEUED), Exists(run_is.filter(status__in=STARTING_RUN)))
    orphaned = Q(
        Q(status=StepStatus.RUNNING, lease_expires_at__lt=now), Exists(run_is.filter(status__in=GENERATING_RUN))
    )
    claimable = queued | orphaned
    taken = (
        RunStep.objects.filter(pk=step.pk)
        .filter(claimable)
        .update(
            status=StepStatus.RUNNING,
            lease_owner=worker,
            lease_expires_at=_lease_end(now),
            attempts=F("attempts") + 1,
            started_at=now,
            progress=0.0,
            progress_message="",
            error="",
            error_code="",
        )
    )
    if not taken:
        return False
    as_claimed(step, worker, now)
    if run.status == RunStatus.QUEUED:
        budget = (run.specification.get("policy") or {}).get("budget") or {}
        deadline = now + dt.timedelta(seconds=budget["max_seconds"]) if budget.get("max_seconds") else None
        Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=Coalesce("started_at", now), deadline_at=deadline
        )
        # Whoever started the run first set its budget's deadline: this step is bound by it too.
        run.status = RunStatus.RUNNING
        if deadline is not None:
            run.deadline_at = Run.objects.values_list("deadline_at", flat=True).get(pk=run.pk)
    return True


def as_claimed(step: RunStep, worker: str, now: dt.datetime) -> None:
    """What a claim changes on the claiming worker's copy of the step (once written, or before: a
    step started ahead of its claim)."""
    step.attempts += 1
    step.status, step.lease_owner, step.started_at = StepStatus.RUNNING, worker, now


def may_claim(run: Run, step: RunStep, now: dt.datetime) -> bool:
    """Whether `claim_step` would take this step, as its rows were read (the claim itself decides)."""
    if step.status == StepStatus.QUEUED:
        return run.status in STARTING_RUN
    expired = step.lease_expires_at is not None and step.lease_expires_at < now
    return step.status == StepStatus.RUNNING and expired and run.status in GENERATING_RUN


def next_waiting(steps: QuerySet[RunStep], queue: str, now: dt.datetime) -> RunStep | None:
    """Of `steps`, the one on `queue` that a worker should claim next, as `claim_step` decides what
    may be claimed: a dead worker's (its lease lapsed) before queued ones, each oldest first."""
    queued = Q(status=StepStatus.QUEUED, run__status__in=STARTING_RUN)
    orphaned = Q(status=StepStatus.RUNNING, lease_expires_at__lt=now, run__status__in=GENERATING_RUN)
    dead_first = Case(When(status=StepStatus.RUNNING, then=Value(0)), default=Value(1))
    return steps.filter(queued | orphaned, queue=queue).order_by(dead_first, "sent_at", "pk").first()


def watch_step(step_pk: int, worker: str, progress: float | None, message: str) -> bool:
    """Renew a generating step's lease and store its progress; False when it must stop (the run was
    cancelled or failed, or the step is no longer this worker's)."""
    fields: dict[str, Any] = {"lease_expires_at": _lease_end(timezone.now())}
    if progress is not None:
        fields.update(progress=min(max(progress, 0.0), 1.0), progress_message=message[:200])
    live = Run.objects.filter(pk=OuterRef("run_id"), status__in=GENERATING_RUN)
    held = RunStep.objects.filter(pk=step_pk, lease_owner=worker, status=StepStatus.RUNNING).filter(Exists(live))
    return held.update(**fields) == 1


@dataclass
class Advance:
    """What a step's success leaves its caller to do: finish the run (its generation is complete), or
    run the step kept for it (claimed for it; no message sent). Sent steps and gates need nothing."""

    complete: bool = False
    kept: RunStep | None = None


@dataclass(frozen=True)
class Keep:
    """The caller, `worker`, runs one step this success makes ready itself, if one is on `queue` with a
    timeout of at most `max_timeout_seconds` (what is left of the caller's own time limit); with
    `only`, that step or none (the caller started it ahead). The kept step is claimed for the caller
    in the same transaction."""

    worker: str
    queue: str
    max_timeout_seconds: float
    only: str | None = None


def step_succeeded(
    step: RunStep,
    worker: str,
    *,
    output: Artifact,
    duration_ms: int,
    fingerprint: dict[str, Any],
    submitted: dict[str, Any] | None,
    keep: Keep | None = None,
) -> Advance:
    """A step counts as done only once its output is stored; then the steps it made ready are sent
    (but the one `keep` asks for), a gate after it pauses the run, or the run's generation is complete."""
    now = timezone.now()
    with transaction.atomic():
        # The lock and the status, not the frozen specification again: the caller has it, and it never changes.
        run = Run.objects.select_for_update().only(*LOCKED_RUN_FIELDS).get(pk=step.run_id)
        run.specification = step.run.specification
        done = RunStep.objects.filter(pk=step.pk, lease_owner=worker, status=StepStatus.RUNNING).update(
            status=StepStatus.SUCCEEDED,
            output=output,
            finished_at=now,
            duration_ms=duration_ms,
            progress=1.0,
            lease_owner="",
            lease_expires_at=None,
            fingerprint=fingerprint,
            submitted=submitted,
        )
        if not done or run.status != RunStatus.RUNNING:
            return Advance()  # not ours any more, or the run paused, failed or was cancelled meanwhile
        return _advance(run, now, keep)


def _advance(run: Run, now: dt.datetime, keep: Keep | None = None, *, resend_queued: bool = False) -> Advance:
    rows = list(RunStep.objects.filter(run=run).order_by("index").only(*DISPATCH_FIELDS))
    statuses = {s.step_id: s.status for s in rows}
    reached = set(run.gates.values_list("after", flat=True)) if graph.gates(run.specification) else set()
    gate = graph.gate_reached(run.specification, statuses, reached)
    if gate is not None:
        Run.objects.filter(pk=run.pk).update(status=RunStatus.AWAITING_GATE, gate_after=gate)
        RunGate.objects.create(run=run, after=gate, reached_at=now)
        return Advance()
    if graph.all_succeeded(statuses):
        if run.writes_record:
            end_run(run, RunStatus.AWAITING_ANNOTATION)
        else:
            send_finish(run.pk, on_commit=True)  # a verdict or a comparison is computed outside this lock
        return Advance(complete=True)
    return Advance(kept=_release(run, rows, now, keep, resend_queued=resend_queued)[1])


def _release(
    run: Run, rows: list[RunStep], now: dt.datetime, keep: Keep | None = None, *, resend_queued: bool = False
) -> tuple[list[RunStep], RunStep | None]:
    """Queue the steps now ready and send them on commit, except the one kept for the caller: the
    first ready on its queue that fits its time, claimed for it here (if the caller dies before it
    finishes, its lease lapses and the sweep sends it again, as a dead worker's step)."""
    statuses = {s.step_id: s.status for s in rows}
    ready = graph.ready_steps(run.specification, statuses)
    if resend_queued:
        # Past a gate: a step queued on another branch when the gate was reached had its message
        # refused by the claim while the run waited, so it is sent again now, not a sweep later.
        ready += [step_id for step_id, status in statuses.items() if status == StepStatus.QUEUED]
    if not ready:
        return [], None
    steps = [s for s in rows if s.step_id in ready]  # the rows read under the lock, in definition order
    kept = _kept(run, steps, now, keep) if keep is not None else None
    sent = [s for s in steps if s is not kept]
    RunStep.objects.filter(
        run=run, step_id__in=[s.step_id for s in sent], status__in=(StepStatus.PENDING, StepStatus.QUEUED)
    ).update(status=StepStatus.QUEUED, sent_at=now)
    send_steps_on_commit(dispatch_of(s) for s in sent)
    return sent, kept


def _kept(run: Run, ready: list[RunStep], now: dt.datetime, keep: Keep) -> RunStep | None:
    if run.deadline_at is not None and run.deadline_at <= now:
        return None  # sent instead: the worker that takes it fails the run for its budget
    fits = [s for s in ready if s.queue == keep.queue and s.timeout_seconds <= keep.max_timeout_seconds]
    if keep.only is not None:
        fits = [s for s in fits if s.step_id == keep.only]
    kept = fits[0] if fits else None
    if kept is None:
        return None
    RunStep.objects.filter(pk=kept.pk).update(
        status=StepStatus.RUNNING,
        lease_owner=keep.worker,
        lease_expires_at=_lease_end(now),
        attempts=F("attempts") + 1,
        sent_at=now,
        started_at=now,
        progress=0.0,
        progress_message="",
    )
    return kept


def step_failed(step: RunStep, worker: str, message: str, code: str) -> bool:
    """A step failed for good: the run fails with its error; steps not started are cancelled and steps
    generating on other branches are told to stop (their watch sees the run has ended)."""
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=step.run_id)
        failing = RunStep.objects.filter(pk=step.pk, lease_owner=worker, status=StepStatus.RUNNING)
        if run.status not in GENERATING_RUN or not failing.update(
            status=StepStatus.FAILED, error=message, error_code=code, finished_at=timezone.now(), lease_owner=""
        ):
            return False
        run.error, run.error_code = f"Step '{step.step_id}' failed: {message}", code
        end_run(run, RunStatus.FAILED)
    return True


def step_stopped(step: RunStep, worker: str) -> None:
    """The step stopped because its run ended (cancelled, or failed on another branch): it is cancelled,
    and finished when its generator really let go. The run's end has usually marked it cancelled and
    released its lease already (end_run), so a step cancelled without a finish time counts as ours too."""
    ours = Q(lease_owner=worker) | Q(status=StepStatus.CANCELLED, lease_owner="", finished_at__isnull=True)
    RunStep.objects.filter(ours, pk=step.pk).exclude(status=StepStatus.SUCCEEDED).update(
        status=StepStatus.CANCELLED, lease_owner="", lease_expires_at=None, finished_at=timezone.now()
    )


def budget_message(run: Run) -> str:
    budget = (run.specification.get("policy") or {}).get("budget") or {}
    return f"the run used up its budget of {budget.get('max_seconds')} s ({BUDGET_EXCEEDED})"


def fail_over_budget(run: Run) -> bool:
    """End a run whose `policy.budget.max_seconds` ran out: nothing more starts."""
    return fail_run(run, budget_message(run), BUDGET_EXCEEDED)


def fail_run(run: Run, message: str, code: str) -> bool:
    """End a generating run as failed for a reason of its own (budget_exceeded), under its row lock."""
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(pk=run.pk)
        if locked.status not in (RunStatus.QUEUED, *GENERATING_RUN):
            return False
        locked.error, locked.error_code = message, code
        RunStep.objects.filter(run=locked, status=StepStatus.RUNNING).update(error_code=code, error=message)
        return end_run(locked, RunStatus.FAILED)


def mark_resent(step_pks: list[int], now: dt.datetime) -> None:
    """The sweep sent these steps again (it re-sends a step at most once per interval)."""
    RunStep.objects.filter(pk__in=step_pks).update(sent_at=now)


# --- gates -----------------------------------------------------------------------------------


def continue_at_gate(run: Run, actor: Any) -> Advance | None:
    """Go on past the gate the run waits at (the caller holds the run's row lock); None if not at one.
    Time spent waiting does not count against the run's budget."""
    if run.status != RunStatus.AWAITING_GATE:
        return None
    now = timezone.now()
    gate = run.gates.get(after=run.gate_after)
    RunGate.objects.filter(pk=gate.pk, continued_at__isnull=True).update(continued_by=actor, continued_at=now)
    changes: dict[str, Any] = {"status": RunStatus.RUNNING, "gate_after": ""}
    if run.deadline_at is not None:
        changes["deadline_at"] = run.deadline_at + (now - gate.reached_at)
    Run.objects.filter(pk=run.pk).update(**changes)
    for name, value in changes.items():
        setattr(run, name, value)
    return _advance(run, now, resend_queued=True)


# --- ending ----------------------------------------------------------------------------------


def end_run(run: Run, status: RunStatus, *, worker: str | None = None) -> bool:
    """The one write that ends a run's generation: its status, `run.error`/`error_code`, leases released.

    A failed or cancelled run's unfinished steps are cancelled (any generating step's watch notices and
    stops its provider), and a reproduction that did not finish fails its check. With `worker`, only
    while that worker holds the run's finishing lease; without, the caller holds the run's row lock."""
    held = Run.objects.filter(pk=run.pk)
    if worker is not None:
        held = held.filter(lease_owner=worker)
    fields: dict[str, Any] = {
        "status": status,
        "finished_at": timezone.now(),
        "lease_owner": "",
        "lease_expires_at": None,
        "gate_after": "",
        "error": run.error,
        "error_code": run.error_code,
    }
    if status == RunStatus.CANCELLED:
        fields["cancel_requested"] = True
    with transaction.atomic(savepoint=False):  # inside a caller's transaction, no savepoint round trips
        ended = held.update(**fields) == 1
        if ended and status in (RunStatus.FAILED, RunStatus.CANCELLED):
            RunStep.objects.filter(run=run, status__in=UNFINISHED_STEPS).update(
                status=StepStatus.CANCELLED, lease_owner="", lease_expires_at=None
            )
            if run.reproduces_id:
                fail_check(run, run.error or "cancelled")
            elif not run.writes_record:
                evidence_run_ended(run, run.error or "cancelled")
    if ended:
        for name, value in fields.items():
            setattr(run, name, value)
    return ended


def cancel_run(run: Run) -> bool:
    """Cancel now (the caller holds the row lock): steps not started never start, a generating step's
    watch sees it within FLONIKS_STEP_WATCH_SECONDS and stops its provider."""
    return end_run(run, RunStatus.CANCELLED)


# --- annotation and the version record -------------------------------------------------------


def start_recording(run: Run, annotation: dict[str, Any]) -> bool:
    """Store the annotation and move the run to `recording`, if it awaits its annotation (or was
    discarded). One
    conditional UPDATE is the check and the write: its row lock serialises it against a concurrent
    cancel or a second submission."""
    changes = {**annotation, "status": RunStatus.RECORDING}
    # A discarded run can still be finalised (DESIGN §15): it kept everything a record needs.
    waiting = Run.objects.filter(pk=run.pk, status__in=FINALIZABLE, purpose=RunPurpose.RECORD)
    if not waiting.update(**changes):
        return False
    for name, value in changes.items():
        setattr(run, name, value)
    return True


def finalize_with_record(record: VersionRecord, *, label_suffix: str) -> bool:
    """`recording` → `finalized` together with the numbered record (one statement on PostgreSQL,
    see runs_app.recording); False when another writer got there first."""
    return recording.insert_numbered(record, label_suffix=label_suffix)


# --- finishing a reproduction ----------------------------------------------------------------


def claim_finish(run_id: Any, worker: str) -> Run | None:
    """Take a run whose steps have all succeeded, to compute its verdict; None if another worker has it."""
    now = timezone.now()
    unfinished = RunStep.objects.filter(run=OuterRef("pk"), status__in=UNFINISHED_STEPS)
    taken = (
        Run.objects.filter(pk=run_id, status=RunStatus.RUNNING, purpose__in=RUNS_WITHOUT_RECORD)
        .filter(Q(lease_owner="") | Q(lease_expires_at__lt=now))
        .filter(~Exists(unfinished))
        .update(lease_owner=worker, lease_expires_at=_lease_end(now))
    )
    return Run.objects.select_related("reproduces").get(pk=run_id) if taken else None


def evidence_run_ended(run: Run, note: str) -> None:
    """An evaluation's run that did not finish fails its evaluation (there is nothing to compare); a
    contact sheet settles once its last cell has ended, finished or not (the sheet shows what it has)."""
    if run.purpose == RunPurpose.EVALUATION:
        Evaluation.objects.filter(Q(candidate_run=run) | Q(baseline_run=run), status=EvidenceStatus.RUNNING).update(
            status=EvidenceStatus.FAILED, note=note, completed_at=timezone.now()
        )
    elif run.purpose == RunPurpose.CONTACT_SHEET:
        sheet_id = ContactSheetCell.objects.filter(run=run).values_list("sheet_id", flat=True).first()
        if sheet_id is not None:
            send_settle_sheet(sheet_id, on_commit=True)


def fail_check(run: Run, note: str) -> None:
    """A reproduction that did not finish leaves a failed check, never a pending one."""
    ReproductionCheck.objects.filter(run=run, verdict=Verdict.PENDING).update(
        verdict=Verdict.FAILED, completed_at=timezone.now(), note=note
    )


def settle_reproduction(
    run: Run,
    worker: str,
    verdict: Verdict,
    scores: dict[str, dict[str, Any]],
    differences: dict[str, dict[str, Any]] | None = None,
) -> bool:
    """Store the verdict, with each output's difference image, and finish the reproduction together,
    if this worker still holds the run."""
    with transaction.atomic():
        ReproductionCheck.objects.filter(run=run).update(
            verdict=verdict, scores=scores, differences=differences or {}, completed_at=timezone.now()
        )
        if not end_run(run, RunStatus.FINALIZED, worker=worker):
            transaction.set_rollback(True)  # another worker holds the run now: its verdict counts, not ours
            return False
    return True


def add_differences(check: ReproductionCheck, differences: dict[str, dict[str, Any]]) -> bool:
    """Keep the difference images of a check settled before they were made with the verdict; a check
    that has them already keeps its own."""
    done = (
        ReproductionCheck.objects.filter(pk=check.pk, differences={})
        .filter(verdict__in=(Verdict.EXACT, Verdict.NEAR, Verdict.DIFFERENT))
        .update(differences=differences)
    )
    if done:
        check.differences = differences
    return bool(done)


# --- discarding ------------------------------------------------------------------------------


def discard_run(run: Run) -> bool:
    """`awaiting_annotation` → `discarded`: set aside without a record, kept whole and still
    finalisable (start_recording accepts it). One conditional UPDATE, like start_recording."""
    waiting = Run.objects.filter(pk=run.pk, status=RunStatus.AWAITING_ANNOTATION, purpose=RunPurpose.RECORD)
    if not waiting.update(status=RunStatus.DISCARDED):
        return False
    run.status = RunStatus.DISCARDED
    return True
