"""Executing runs. A worker claims a run with a conditional update and holds a
lease that a heartbeat renews while a step is generating; a run whose lease has
expired belonged to a worker that died, and the sweep hands it to another.
Every step is idempotent: generators are deterministic and storage is content
addressed, so re-running a half-finished step gives the same artifact. Every
write of a run's, a step's or a check's state is in runs_app.transitions."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from queue import Empty, SimpleQueue
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Q, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils import timezone

from runs_app import queue, services, transitions
from runs_app.compare import NEAR_THRESHOLD, pixels_identical, similarity
from runs_app.generators import GeneratedFile, GeneratorError, StepRequest, get_provider
from runs_app.generators.base import TransientGeneratorError
from runs_app.models import Artifact, Run, RunStatus, RunStep, StepStatus, Verdict, steps_in_order
from runs_app.outputs import StepOutputs
from runs_app.storage import read_artifact, store_generated
from templates_app.definition import split_model
from templates_app.models import ModelFamily

log = logging.getLogger(__name__)


class Heartbeat:
    """Renews the lease from a side thread while a step generates."""

    def __init__(self, run_id: Any, worker: str) -> None:
        self.run_id, self.worker = run_id, worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(max(1.0, transitions.lease_seconds() / 3)):
                try:
                    transitions.renew_lease(self.run_id, self.worker)
                except DatabaseError:  # a blip must not end the heartbeat: drop the connection, beat again
                    log.warning("Could not renew the lease on run %s; trying again", self.run_id, exc_info=True)
                    connection.close_if_unusable_or_obsolete()
        finally:
            connection.close()


def execute_run(run_id: Any, worker: str) -> None:
    if not transitions.claim_run(run_id, worker):
        return
    run = Run.objects.select_related("version").get(pk=run_id)
    providers = _providers()
    # This execution's outputs, handed to later steps without a storage round trip; each is
    # dropped as soon as no later step reads it (issue 11), not kept until the run ends.
    made = StepOutputs(run.specification)
    persister = Persister()
    try:
        with Heartbeat(run.pk, worker):
            for step in run.steps.select_related("output").order_by("index"):
                if step.status == StepStatus.SUCCEEDED:
                    continue
                if step.attempts >= settings.FLONIKS_MAX_STEP_ATTEMPTS:
                    # Every earlier attempt died with its worker (out of memory, killed): stop handing it
                    # out — unless it is no longer ours, or was cancelled meanwhile, which comes first.
                    if _still_ours(run, worker, persister):
                        _fail_step(
                            run, step, worker, persister, f"interrupted {step.attempts} times; its worker keeps dying"
                        )
                    return
                if not _run_step(run, step, worker, providers, made, persister):
                    return
                made.step_done(step.index)  # issue 11: release outputs no later step reads
            _complete(run, worker, persister)
    finally:
        persister.drain(raise_errors=False)


class Persister:
    """Stores a finished step's output and marks the step done while the next step generates.

    NumPy and zlib release the GIL, so on a second core the bookkeeping costs the
    run no time. A step counts as done only once its artifact is stored; if this
    process dies first, the step is simply generated again (deterministically).
    Inside a transaction (tests) or on SQLite the work is done inline instead."""

    def __init__(self) -> None:
        self.inline = connection.in_atomic_block or connection.vendor == "sqlite"
        self.error: BaseException | None = None
        self._pending: list[Future[None]] = []
        self._held: tuple[int, GeneratedFile, int] | None = None

    def submit(self, step_pk: int, generated: GeneratedFile, duration_ms: int) -> None:
        """Take a finished output; it is stored from the next release() or drain() on.

        Holding it until the next step has started keeps the two off the database
        (and the GIL) at the same moment; the step still counts as done only once stored."""
        if self.error is not None:
            raise self.error
        self.release()
        self._held = (step_pk, generated, duration_ms)

    def release(self) -> None:
        if self._held is None:
            return
        step_pk, generated, duration_ms = self._held
        self._held = None
        if self.inline:
            self._persist(step_pk, generated, duration_ms)
        else:
            self._pending.append(_persisting_thread().submit(lambda: self._persist(step_pk, generated, duration_ms)))

    def drain(self, raise_errors: bool = True) -> None:
        """Wait until every submitted output is stored; a storage failure surfaces here."""
        try:
            self.release()
        except BaseException:
            if raise_errors:
                raise
        wait(self._pending)
        self._pending.clear()
        if raise_errors and self.error is not None:
            raise self.error

    def _persist(self, step_pk: int, generated: GeneratedFile, duration_ms: int) -> None:
        if self.error is not None:
            return  # an earlier output of this run was not stored: nothing after it counts as done
        try:
            transitions.step_succeeded(step_pk, store_generated(generated), duration_ms)
        except BaseException as exc:
            self.error = exc  # reported by drain() or the next submit() in the run's own thread
            raise  # and the persisting thread drops a broken connection at once


class PersistingThread:
    """One long-lived thread per process does the persisting for every run.

    It keeps its database connection from run to run — opening one per run costs
    more than the bookkeeping it does — and lets it go after a few idle seconds."""

    IDLE_SECONDS = 5.0

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._jobs: SimpleQueue[tuple[Callable[[], None], Future[None]] | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="floniks-persister")
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> Future[None]:
        future: Future[None] = Future()
        self._jobs.put((job, future))
        return future

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join()

    def _loop(self) -> None:
        last_job = 0.0
        try:
            while True:
                try:
                    item = self._jobs.get(timeout=self.IDLE_SECONDS)
                except Empty:
                    connection.close()
                    continue
                if item is None:
                    return
                job, future = item
                if time.monotonic() - last_job > 1.0:
                    # Back from idle: check the connection first (PostgreSQL may have restarted meanwhile).
                    connection.close_if_unusable_or_obsolete()
                try:
                    job()
                    future.set_result(None)
                except BaseException as exc:
                    connection.close_if_unusable_or_obsolete()  # a broken connection goes now, not after the next job
                    future.set_exception(exc)
                last_job = time.monotonic()
        finally:
            connection.close()


_persister: PersistingThread | None = None
_persister_lock = threading.Lock()


def _persisting_thread() -> PersistingThread:
    global _persister
    with _persister_lock:
        if _persister is None or _persister.pid != os.getpid():  # a forked child starts its own
            _persister = PersistingThread()
        return _persister


def stop_persisting() -> None:
    """Let the persisting thread and its database connection go (tests, before dropping the database)."""
    global _persister
    with _persister_lock:
        if _persister is not None and _persister.pid == os.getpid():
            _persister.stop()
        _persister = None


_provider_map: tuple[float, dict[str, str]] | None = None


def _providers(refresh: bool = False) -> dict[str, str]:
    """Family → provider name, cached per process (a family's provider never changes); a miss re-reads it."""
    global _provider_map
    if refresh or _provider_map is None or time.monotonic() - _provider_map[0] > 60:
        _provider_map = (time.monotonic(), dict(ModelFamily.objects.values_list("name", "provider")))
    return _provider_map[1]


def _still_ours(run: Run, worker: str, persister: Persister) -> bool:
    """Extend the lease and notice a cancel request in one query; False means stop here."""
    if transitions.renew_lease(run.pk, worker, unless_cancelled=True):
        return True
    _stop(run, worker, persister)
    return False


def _stop(run: Run, worker: str, persister: Persister) -> None:
    """We may not go on: finish a requested cancel, or leave a run another worker took over."""
    persister.drain()
    if Run.objects.filter(pk=run.pk, lease_owner=worker, cancel_requested=True).exists():
        transitions.end_run(run, RunStatus.CANCELLED, worker=worker)
    else:
        log.warning("Lost the lease on run %s; another worker has it", run.pk)


def _run_step(
    run: Run, step: RunStep, worker: str, providers: dict[str, str], made: dict[str, bytes], persister: Persister
) -> bool:
    if not transitions.start_step(run, step, worker):
        _stop(run, worker, persister)
        return False
    persister.release()  # the previous step's output is stored while this one generates
    retries = int(run.specification["steps"][step.index].get("policy", {}).get("retries", 2))
    began = time.monotonic()
    try:
        generated = _generate_with_retries(run, step, providers, retries, made)
    except DatabaseError:
        raise  # infrastructure, not the step: the lease lapses and the sweep hands the run out again
    except GeneratorError as exc:
        return _fail_step(run, step, worker, persister, str(exc))
    except SoftTimeLimitExceeded:
        return _fail_step(run, step, worker, persister, "the step took longer than the time limit allows")
    except Exception as exc:  # a bug or a bad input must fail the run, not loop through the sweep forever
        log.exception("Step %s of run %s crashed", step.step_id, run.pk)
        return _fail_step(run, step, worker, persister, f"internal error ({exc.__class__.__name__}: {exc})")
    persister.submit(step.pk, generated, int((time.monotonic() - began) * 1000))
    return True


def _fail_step(run: Run, step: RunStep, worker: str, persister: Persister, message: str) -> bool:
    """The outputs made before the failure are kept; then the run fails (False: stop here)."""
    persister.drain()
    transitions.fail_at_step(run, step, worker, message)
    return False


def _generate_with_retries(
    run: Run, step: RunStep, providers: dict[str, str], retries: int, made: dict[str, bytes]
) -> GeneratedFile:
    family, snapshot = split_model(step.model) if step.model else ("", None)
    provider = get_provider(providers.get(family) or _providers(refresh=True).get(family, "builtin"))
    request = StepRequest(
        kind=step.kind,
        family=family,
        snapshot=snapshot or "",
        seed=step.seed,
        params={k: v for k, v in step.params.items() if not isinstance(v, dict)},
        images=_input_images(run, step, made),
        provenance={
            "manifest_hash": run.version.manifest_hash,
            "spec_hash": run.spec_hash,
            "step": step.step_id,
            "model": step.model,
            "seed": step.seed,
        },
    )
    for attempt in range(retries + 1):
        try:
            generated = provider.generate(request)
            made[step.step_id] = generated.data
            return generated
        except TransientGeneratorError:
            if attempt == retries:
                raise
            time.sleep(min(2**attempt, 10))
    raise AssertionError("unreachable")


def _input_images(run: Run, step: RunStep, made: dict[str, bytes]) -> dict[str, bytes]:
    images = {}
    for name, binding in step.params.items():
        if not isinstance(binding, dict):
            continue
        if binding.get("step") in made:
            images[name] = made[binding["step"]]
            continue
        if "artifact" in binding:
            artifact = Artifact.objects.get(sha256=binding["artifact"])
        else:
            artifact = RunStep.objects.select_related("output").get(run=run, step_id=binding["step"]).output  # type: ignore[assignment]
        if artifact is None:
            raise GeneratorError(f"The image for '{name}' is missing.")
        images[name] = read_artifact(artifact)
    return images


def _complete(run: Run, worker: str, persister: Persister) -> None:
    """Every step is done: wait for the last output to be stored, then finish — unless a cancel
    arrived during the last step, which still counts."""
    persister.drain()
    if run.reproduces_id is None:
        if not transitions.end_run(run, RunStatus.AWAITING_ANNOTATION, worker=worker, unless_cancelled=True):
            _stop(run, worker, persister)
        return
    if not _still_ours(run, worker, persister):
        return
    verdict, scores = _verify(run)
    transitions.settle_reproduction(run, worker, verdict, scores)


def _verify(run: Run) -> tuple[Verdict, dict[str, float]]:
    """Compare each output of a reproduction with the record's stored output."""
    record = run.reproduces
    assert record is not None
    prefetch_related_objects([run], steps_in_order())
    produced = run.outputs_by_name()
    scores: dict[str, float] = {}
    exact = True
    for name, stored in record.outputs.items():
        new = produced.get(name)
        if new is None:
            scores[name], exact = 0.0, False
            continue
        if new.sha256 == stored["sha256"]:
            scores[name] = 1.0
            continue
        old_bytes, new_bytes = read_artifact(Artifact.objects.get(sha256=stored["sha256"])), read_artifact(new)
        if pixels_identical(old_bytes, new_bytes):
            scores[name] = 1.0
        else:
            exact = False
            scores[name] = similarity(old_bytes, new_bytes)
    if exact:
        return Verdict.EXACT, scores
    return (Verdict.NEAR if min(scores.values(), default=0) >= NEAR_THRESHOLD else Verdict.DIFFERENT), scores


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Finish what crashes and broker outages left behind. Safe to run anywhere, any time."""
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=int(settings.FLONIKS_REQUEUE_AFTER_SECONDS))
    counts = {"requeued": 0, "recorded": 0}
    # A queued run is re-sent at most once per interval, so a long honest queue does not snowball.
    orphaned = list(
        Run.objects.annotate(sent=Coalesce("last_enqueued_at", "created_at"))
        .filter(Q(status=RunStatus.QUEUED, sent__lt=stale) | Q(status=RunStatus.RUNNING, lease_expires_at__lt=now))
        .values_list("pk", flat=True)[:500]
    )
    transitions.mark_resent(orphaned, now)
    for run_id in orphaned:
        queue.send(queue.EXECUTE_RUN, str(run_id))
        counts["requeued"] += 1
    for run_id in Run.objects.filter(status=RunStatus.RECORDING, record__isnull=True).values_list("pk", flat=True)[
        :500
    ]:
        if services.write_record(run_id=run_id) is not None:
            counts["recorded"] += 1
    return counts
