"""A worker's hand-over thread (runs_app.handover): successes are written there while the next step
already generates (it runs ahead of its claim), and a task returns before its last success is
written. A step that ran ahead and whose claim never came leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import functools
import os
import signal
import threading
import time
from typing import Any

import pytest
from django.utils import timezone

from runs_app import dispatch, execution, services, transitions
from runs_app.generators.builtin import BuiltinProvider
from runs_app.handover import CompanionGone, HandOver, WorkerHandOver
from runs_app.models import Artifact, Run, RunStatus, RunStep, StepStatus
from tests.helpers import small_definition

# The hand-over thread writes through its own connection: the rows must be committed to be seen.
pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 10


@pytest.fixture
def two_steps(
    make_workflow: Any, publish: Any, operator: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[Run, list[int]]:
    sent: list[int] = []
    monkeypatch.setattr(dispatch, "_send", lambda name, args, options: sent.append(args[1]))
    workflow = make_workflow()
    publish(workflow, small_definition())
    return services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a heron"}), sent


@pytest.fixture
def hand_over() -> Any:
    thread = HandOver()
    yield thread
    thread.stop()


def _limit(run: Run) -> float:
    first = run.steps.order_by("index").first()
    assert first is not None
    return time.monotonic() + first.timeout_seconds + dispatch.SOFT_LIMIT_GRACE_SECONDS


class GenerationSpy:
    """Records which steps were generated, and lets a test act when one starts."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started: dict[str, threading.Event] = {}
        self.generated: list[str] = []
        self.stopped: list[str] = []
        real = BuiltinProvider.generate

        def generate(provider: BuiltinProvider, request: Any, progress: Any = None) -> Any:
            step = request.provenance["step"]
            self.started.setdefault(step, threading.Event()).set()
            try:
                result = real(provider, request, progress) if progress else real(provider, request)
            except Exception:
                self.stopped.append(step)
                raise
            self.generated.append(step)
            return result

        monkeypatch.setattr(BuiltinProvider, "generate", generate)

    def event(self, step: str) -> threading.Event:
        return self.started.setdefault(step, threading.Event())


def _hold_success_of(step_id: str, until: threading.Event, monkeypatch: pytest.MonkeyPatch, then: Any = None) -> None:
    """The success of `step_id` is written only once `until` is set (and after `then` ran)."""
    real = transitions.step_succeeded

    def held(step: RunStep, *args: Any, **kwargs: Any) -> Any:
        if step.step_id == step_id:
            assert until.wait(WAIT), f"{step_id}'s success waited for something that never happened"
            if then is not None:
                then()
        return real(step, *args, **kwargs)

    monkeypatch.setattr(transitions, "step_succeeded", held)


def test_the_next_step_generates_while_the_success_before_it_is_written(two_steps, monkeypatch, hand_over):
    run, sent = two_steps
    spy = GenerationSpy(monkeypatch)
    # The first step's success is not written until the second step has started generating: without
    # running ahead, the task would wait for that success first and this would time out.
    _hold_success_of("background", spy.event("styled"), monkeypatch)
    first = run.steps.order_by("index").first()
    execution.execute_step(run.pk, first.pk, "worker-1", limit_at=_limit(run), hand_over=hand_over)
    hand_over.drain()

    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_ANNOTATION
    assert spy.generated == ["background", "styled"]
    steps = list(run.steps.order_by("index"))
    assert [s.status for s in steps] == [StepStatus.SUCCEEDED, StepStatus.SUCCEEDED]
    assert [s.attempts for s in steps] == [1, 1]  # the step run ahead was claimed once, with the success
    assert sent == [first.pk]  # its own, at run start; none for the second: this task ran both


def test_a_task_returns_before_its_last_success_is_written_and_draining_writes_it(two_steps, monkeypatch, hand_over):
    run, _ = two_steps
    release = threading.Event()
    _hold_success_of("styled", release, monkeypatch)
    first = run.steps.order_by("index").first()
    execution.execute_step(run.pk, first.pk, "worker-1", limit_at=_limit(run), hand_over=hand_over)

    # The task is done; the last step's output is generated but its success is still to be written.
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING
    styled = run.steps.get(step_id="styled")
    assert styled.status == StepStatus.RUNNING and styled.lease_owner == "worker-1"
    release.set()
    hand_over.drain()
    assert Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_ANNOTATION
    assert run.steps.get(step_id="styled").output is not None


def test_a_step_run_ahead_whose_claim_never_comes_leaves_nothing(two_steps, monkeypatch, operator, hand_over):
    run, sent = two_steps
    spy = GenerationSpy(monkeypatch)
    # The run is cancelled after the second step started generating ahead, before the first step's
    # success (which would have claimed the second for this task) is written.
    _hold_success_of(
        "background",
        spy.event("styled"),
        monkeypatch,
        then=lambda: services.cancel_run(actor=operator, run=Run.objects.get(pk=run.pk)),
    )
    artifacts_before = Artifact.objects.count()
    first = run.steps.order_by("index").first()
    execution.execute_step(run.pk, first.pk, "worker-1", limit_at=_limit(run), hand_over=hand_over)
    hand_over.drain()

    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    styled = run.steps.get(step_id="styled")
    assert spy.event("styled").is_set()  # it did start ahead
    assert styled.status == StepStatus.CANCELLED
    assert (styled.attempts, styled.output_id, styled.lease_owner, styled.started_at) == (0, None, "", None)
    # Neither output counts: the first step's success found the run cancelled, the second was dropped.
    assert run.steps.filter(output__isnull=False).count() == 0
    assert Artifact.objects.count() - artifacts_before <= 1  # at most the first step's bytes, stored once
    assert sent == [first.pk]


def test_a_success_that_cannot_be_written_leaves_the_step_to_the_sweep(two_steps, monkeypatch, hand_over):
    run, _ = two_steps

    def broken(*args: Any, **kwargs: Any) -> Any:
        from django.db import OperationalError

        raise OperationalError("the database went away")

    monkeypatch.setattr(transitions, "step_succeeded", broken)
    first = run.steps.order_by("index").first()
    execution.execute_step(run.pk, first.pk, "worker-1", limit_at=_limit(run), hand_over=hand_over)
    hand_over.drain()

    # Nothing was written beyond the claim: the step is the worker's until its lease lapses, then the
    # sweep sends it again; the step run ahead of it was dropped without a trace.
    steps = {s.step_id: s for s in run.steps.all()}
    assert (steps["background"].status, steps["background"].lease_owner) == (StepStatus.RUNNING, "worker-1")
    assert (steps["styled"].status, steps["styled"].attempts) == (StepStatus.PENDING, 0)
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING


def test_a_process_leaving_writes_what_it_was_handed_first():
    """What the worker's shutdown signal calls: everything handed over is written before the thread ends."""
    written: list[str] = []
    hand_over = HandOver(waiting=2)

    def write(name: str) -> None:
        time.sleep(0.2)
        written.append(name)

    for name in ("first", "second"):
        hand_over.submit(functools.partial(write, name))
    hand_over.stop()
    assert written == ["first", "second"]
    assert hand_over._thread is not None and not hand_over._thread.is_alive()


# --- the companion process a pool process forks (runs_app.handover.Companion) ---------------------


def _append_from(path: str, name: str, pause: float = 0.0) -> int:
    """A job for the companion (module level: jobs are pickled). Appends `name`, returns the writer's pid."""
    time.sleep(pause)
    with open(path, "a") as out:
        out.write(name + "\n")
    return os.getpid()


def _fails() -> None:
    raise ValueError("storage refused it")


@pytest.fixture
def companion() -> Any:
    hand_over = WorkerHandOver()
    hand_over.start_companion()
    yield hand_over
    hand_over.stop()


def test_a_pool_process_writes_what_it_hands_over_in_its_companion_process(companion, tmp_path):
    log = tmp_path / "written"
    pids = [companion.submit(functools.partial(_append_from, str(log), name)).result(WAIT) for name in "abc"]
    assert log.read_text().split() == ["a", "b", "c"]  # in the order handed over
    assert len(set(pids)) == 1 and pids[0] != os.getpid()  # by one other process, which shares no GIL
    with pytest.raises(ValueError, match="storage refused it"):
        companion.submit(_fails).result(WAIT)  # what a job raises reaches the caller's future
    assert companion.submit(functools.partial(_append_from, str(log), "d")).result(WAIT) == pids[0]  # and it goes on


def test_the_companion_writes_everything_handed_over_before_it_ends(companion, tmp_path):
    log = tmp_path / "written"
    futures = [companion.submit(functools.partial(_append_from, str(log), name, 0.2)) for name in ("first", "second")]
    companion.stop()  # what the worker's shutdown signal calls
    assert log.read_text().split() == ["first", "second"]
    assert all(f.done() and f.exception() is None for f in futures)
    with pytest.raises(ChildProcessError):
        os.waitpid(companion._companion.pid, os.WNOHANG)  # ended and reaped


def test_a_job_that_cannot_be_pickled_is_written_on_a_thread(companion):
    pids: list[int] = []
    companion.submit(lambda: pids.append(os.getpid())).result(WAIT)
    assert pids == [os.getpid()]


def test_when_the_companion_dies_what_it_held_fails_and_the_thread_takes_over(companion, tmp_path):
    """Killed with a job in hand: that job's future fails (its step's lease lapses and the sweep sends it
    again, as for a killed worker); what is handed over afterwards is written on a thread."""
    log = tmp_path / "written"
    held = companion.submit(functools.partial(_append_from, str(log), "lost", 30))
    os.kill(companion._companion.pid, signal.SIGKILL)
    with pytest.raises(CompanionGone):
        held.result(WAIT)
    assert companion.submit(functools.partial(_append_from, str(log), "after")).result(WAIT) == os.getpid()
    assert log.read_text().split() == ["after"]


# --- a task with nothing left to run takes the step waiting longest on its queue ------------------


def test_a_task_with_nothing_left_takes_the_next_run_waiting_and_its_message_then_does_nothing(
    two_steps, monkeypatch, hand_over, operator
):
    run, sent = two_steps
    second = services.start_run(actor=operator, workflow=run.workflow, inputs={"subject": "a second heron"})
    spy = GenerationSpy(monkeypatch)
    first = run.steps.order_by("index").first()
    execution.execute_step(run.pk, first.pk, "worker-1", limit_at=_limit(run), hand_over=hand_over)
    hand_over.drain()
    assert [Run.objects.get(pk=r.pk).status for r in (run, second)] == [RunStatus.AWAITING_ANNOTATION] * 2
    assert spy.generated == ["background", "styled"] * 2  # one task, both runs, without a message between
    second_first = second.steps.order_by("index").first()
    assert sent == [first.pk, second_first.pk]  # each run's first step was sent when it started

    # The second run's message, delivered afterwards, finds its step done: nothing is generated or changed.
    execution.execute_step(second.pk, second_first.pk, "worker-2", limit_at=_limit(second), hand_over=hand_over)
    hand_over.drain()
    assert spy.generated == ["background", "styled"] * 2
    assert RunStep.objects.get(pk=second_first.pk).attempts == 1


def test_a_dead_workers_step_is_taken_before_queued_ones_and_other_queues_are_left_alone(
    two_steps, monkeypatch, hand_over, operator
):
    run, _ = two_steps
    orphan_run = services.start_run(actor=operator, workflow=run.workflow, inputs={"subject": "an orphan"})
    elsewhere = services.start_run(actor=operator, workflow=run.workflow, inputs={"subject": "elsewhere"})
    RunStep.objects.filter(run=elsewhere).update(queue="q-test")
    orphan = orphan_run.steps.order_by("index").first()
    assert orphan is not None
    assert transitions.claim_step(orphan_run, orphan, "dead-worker")
    RunStep.objects.filter(pk=orphan.pk).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    spy = GenerationSpy(monkeypatch)
    first = run.steps.order_by("index").first()
    execution.execute_step(run.pk, first.pk, "worker-1", limit_at=_limit(run), hand_over=hand_over)
    hand_over.drain()
    # Its own run, then the dead worker's step, whose run it finishes; the step on q-test is not its queue.
    subjects = [Run.objects.get(pk=r.pk).status for r in (run, orphan_run, elsewhere)]
    assert subjects == [RunStatus.AWAITING_ANNOTATION, RunStatus.AWAITING_ANNOTATION, RunStatus.QUEUED]
    assert RunStep.objects.get(pk=orphan.pk).attempts == 2
    assert spy.generated == ["background", "styled"] * 2


def test_a_task_takes_no_waiting_step_its_time_limit_has_no_room_for(two_steps, monkeypatch, hand_over, operator):
    run, _ = two_steps
    second = services.start_run(actor=operator, workflow=run.workflow, inputs={"subject": "a second heron"})
    first = run.steps.order_by("index").first()
    RunStep.objects.filter(run=second).update(timeout_seconds=first.timeout_seconds + 60)
    execution.execute_step(run.pk, first.pk, "worker-1", limit_at=_limit(run), hand_over=hand_over)
    hand_over.drain()
    assert Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_ANNOTATION
    assert Run.objects.get(pk=second.pk).status == RunStatus.QUEUED  # left for its message
