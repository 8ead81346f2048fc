"""The sweep: finish what crashes and broker outages left behind. Safe to run anywhere, any time.

It runs on a thread of every worker's main process (SweepThread), never as a task in a queue, so
recovery never waits behind a backlog of generation work; a PostgreSQL advisory lock lets one sweep
at a time do the work, whichever worker's thread gets there first.

- a step whose worker died (its lease expired) is sent again, ahead of the backlog;
- a queued step whose message was lost (sent long ago, never claimed) is sent again, at most once
  per FLONIKS_REQUEUE_AFTER_SECONDS, so a long honest queue does not snowball;
- a run past its budget fails `budget_exceeded`;
- a run whose steps all succeeded but whose finish was interrupted (a reproduction's verdict) is
  finished, and a run with nothing running nor queued gets its ready steps released;
- an annotated run whose record write was lost gets its record;
- a record whose outputs were not signed (signing was down, or its task was lost) is signed;
- a worker silent for a day (killed, or its host gone) leaves the queue page."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from runs_app import dispatch, evidence, graph, provenance, services, transitions
from runs_app.models import RUNS_WITHOUT_RECORD, Run, RunStatus, RunStep, StepStatus, WorkerHeartbeat
from runs_app.signing import SigningUnavailable

FORGET_WORKERS_AFTER = dt.timedelta(days=1)

log = logging.getLogger(__name__)

LOCK_KEY = 0x464C4E4B_53575045 & 0x7FFFFFFFFFFFFFFF  # "FLNKSWPE": one sweep at a time, cluster-wide
BATCH = 500


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    with _one_at_a_time() as ours:
        if not ours:
            return {"skipped": 1}
        return _sweep(now or timezone.now())


@contextmanager
def _one_at_a_time() -> Iterator[bool]:
    if connection.vendor != "postgresql":
        yield True  # SQLite (`make run`): one worker
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        got = bool(cursor.fetchone()[0])
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def _sweep(now: dt.datetime) -> dict[str, int]:
    return {
        "resent": _resend_lost_steps(now),
        "over_budget": _fail_over_budget(now),
        "finished": _finish_interrupted(now),
        "released": _release_stalled(now),
        "recorded": _write_lost_records(),
        "signed": _sign_pending_records(),
        "settled": evidence.settle_lost(),
        "forgotten": _forget_gone_workers(now),
    }


def _resend_lost_steps(now: dt.datetime) -> int:
    stale = now - dt.timedelta(seconds=int(settings.FLONIKS_REQUEUE_AFTER_SECONDS))
    live = Run.objects.filter(pk=OuterRef("run_id"), status__in=(RunStatus.QUEUED, *transitions.GENERATING_RUN))
    died = list(
        RunStep.objects.filter(status=StepStatus.RUNNING, lease_expires_at__lt=now)
        .filter(Q(sent_at__isnull=True) | Q(sent_at__lt=now - dt.timedelta(seconds=transitions.lease_seconds())))
        .filter(Exists(live))
        .only("pk", "run_id", "queue", "timeout_seconds")[:BATCH]
    )
    lost = list(
        RunStep.objects.annotate(sent=Coalesce("sent_at", "run__created_at"))
        .filter(status=StepStatus.QUEUED, sent__lt=stale)
        .filter(Exists(live))
        .only("pk", "run_id", "queue", "timeout_seconds")[:BATCH]
    )
    transitions.mark_resent([s.pk for s in died + lost], now)
    for step in died:
        dispatch.send_step(transitions.dispatch_of(step), urgent=True)
    for step in lost:
        dispatch.send_step(transitions.dispatch_of(step))
    return len(died) + len(lost)


def _fail_over_budget(now: dt.datetime) -> int:
    over = Run.objects.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING), deadline_at__lt=now)[:BATCH]
    failed = 0
    for run in over:
        failed += transitions.fail_over_budget(run)
    return failed


def _finish_interrupted(now: dt.datetime) -> int:
    unfinished = RunStep.objects.filter(run=OuterRef("pk"), status__in=transitions.UNFINISHED_STEPS)
    waiting = (
        Run.objects.filter(status=RunStatus.RUNNING, purpose__in=RUNS_WITHOUT_RECORD)
        .filter(Q(lease_owner="") | Q(lease_expires_at__lt=now))
        .filter(~Exists(unfinished))
        .values_list("pk", flat=True)[:BATCH]
    )
    for run_id in waiting:
        dispatch.send_finish(run_id)
    return len(waiting)


def _release_stalled(now: dt.datetime) -> int:
    """Runs with pending steps and nothing queued or running: a release that never happened (a run
    queued before steps were the unit of execution, or an interrupted continue)."""
    moving = RunStep.objects.filter(run=OuterRef("pk"), status__in=(StepStatus.QUEUED, StepStatus.RUNNING))
    pending = RunStep.objects.filter(run=OuterRef("pk"), status=StepStatus.PENDING)
    stale = now - dt.timedelta(seconds=int(settings.FLONIKS_REQUEUE_AFTER_SECONDS))
    stalled = (
        Run.objects.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING), created_at__lt=stale)
        .filter(Exists(pending), ~Exists(moving))
        .values_list("pk", flat=True)[:BATCH]
    )
    released = 0
    for run_id in stalled:
        with transaction.atomic():
            run = Run.objects.select_for_update().get(pk=run_id)
            statuses = dict(run.steps.values_list("step_id", "status"))
            if run.status in (RunStatus.QUEUED, RunStatus.RUNNING) and graph.ready_steps(run.specification, statuses):
                released += len(transitions.release_ready_steps(run))
    return released


def _write_lost_records() -> int:
    recorded = 0
    for run_id in Run.objects.filter(status=RunStatus.RECORDING, record__isnull=True).values_list("pk", flat=True)[
        :BATCH
    ]:
        if services.write_record(run_id=run_id) is not None:
            recorded += 1
    return recorded


def _sign_pending_records() -> int:
    """Records whose outputs have no signed copy yet (signing was down, or its task was lost), signed
    inline, a few per sweep. While signing is down the first failure ends this sweep's attempt."""
    signed = 0
    for record_id in provenance.unsigned_records().values_list("pk", flat=True)[: settings.FLONIKS_SIGN_SWEEP_BATCH]:
        try:
            if services.sign_record(record_id=record_id):
                signed += 1
        except SigningUnavailable as exc:
            log.warning("Records wait to be signed: %s", exc)
            break
    return signed


def beat(name: str, queues: list[str], started_at: dt.datetime) -> None:
    """A worker is alive: one small UPSERT of its heartbeat row (the queue page reads these)."""
    WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"queues": queues, "started_at": started_at, "seen_at": timezone.now()}
    )


def _forget_gone_workers(now: dt.datetime) -> int:
    """A worker that stops cleanly deletes its own heartbeat; one killed leaves its row, shown as
    silent for a day so an operator sees what died, then forgotten (hosts come and go)."""
    return WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_WORKERS_AFTER).delete()[0]


def alive_since() -> dt.datetime:
    """Heartbeats newer than this are live workers: three sweep intervals, so one slow sweep is no death."""
    return timezone.now() - dt.timedelta(seconds=3 * int(settings.FLONIKS_SWEEP_SECONDS))


class SweepThread:
    """Sweeps every FLONIKS_SWEEP_SECONDS beside a worker's pool (started by floniks.celery), and
    writes the worker's heartbeat each time (`name` and `queues`, when the worker gives them)."""

    def __init__(self, interval: float | None = None, *, name: str = "", queues: list[str] | None = None) -> None:
        self.interval = float(interval or settings.FLONIKS_SWEEP_SECONDS)
        self.name, self.queues = name, list(queues or [])
        self.started_at = timezone.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="floniks-sweep")

    def start(self) -> SweepThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        try:
            self._beat()
            while not self._stop.wait(self.interval):
                self._beat()
                self._once()
            if self.name:  # a worker that stops cleanly is gone at once, not three intervals later
                WorkerHeartbeat.objects.filter(name=self.name).delete()
        except DatabaseError:
            log.warning("Could not clear the heartbeat of %s", self.name, exc_info=True)
        finally:
            connection.close()

    def _beat(self) -> None:
        if not self.name:
            return
        try:
            connection.close_if_unusable_or_obsolete()
            beat(self.name, self.queues, self.started_at)
        except DatabaseError:  # the next beat will do; a missed one is no death
            log.warning("Could not write the heartbeat of %s", self.name, exc_info=True)
            connection.close()

    def _once(self) -> Any:
        try:
            connection.close_if_unusable_or_obsolete()
            counts = sweep()
            if any(v for k, v in counts.items() if k != "skipped"):
                log.info("Sweep: %s", counts)
            return counts
        except DatabaseError:  # PostgreSQL restarting: drop the connection, sweep again next time
            log.warning("The sweep could not reach the database; trying again", exc_info=True)
            connection.close()
        except Exception:  # a sweep must never take its thread (and recovery) down with it
            log.exception("The sweep failed; trying again")
        return None
