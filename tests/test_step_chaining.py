"""A worker runs the step its success makes ready itself, without a message, while that step's own
timeout still fits in what is left of the task's time limit; otherwise the step is sent as usual."""

from __future__ import annotations

import time
from typing import Any

import pytest

from runs_app import dispatch, execution, services
from runs_app.models import Run, RunStatus, RunStep, StepStatus
from tests.helpers import small_definition

pytestmark = pytest.mark.django_db


def _start(make_workflow: Any, publish: Any, operator: Any, monkeypatch: Any) -> tuple[Run, list[int]]:
    sent: list[int] = []
    monkeypatch.setattr(dispatch, "_send", lambda name, args, options: sent.append(args[1]))
    workflow = make_workflow()
    publish(workflow, small_definition())
    return services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a heron"}), sent


def test_the_next_step_runs_in_the_same_task_when_its_timeout_fits(
    make_workflow, publish, operator, monkeypatch, django_capture_on_commit_callbacks
):
    run, sent = _start(make_workflow, publish, operator, monkeypatch)
    first, second = run.steps.order_by("index")
    with django_capture_on_commit_callbacks(execute=True):
        # As a task sent with the first step's limits (runs_app.dispatch) would.
        limit = first.timeout_seconds + dispatch.SOFT_LIMIT_GRACE_SECONDS
        execution.execute_step(run.pk, first.pk, "worker-1", limit_at=time.monotonic() + limit)
    assert Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_ANNOTATION
    assert RunStep.objects.get(pk=second.pk).attempts == 1
    assert sent == []  # no message for the second step: nothing left for another worker to find


def test_a_step_whose_timeout_does_not_fit_is_sent_instead(
    make_workflow, publish, operator, monkeypatch, django_capture_on_commit_callbacks
):
    run, sent = _start(make_workflow, publish, operator, monkeypatch)
    first, second = run.steps.order_by("index")
    with django_capture_on_commit_callbacks(execute=True):
        execution.execute_step(run.pk, first.pk, "worker-1", limit_at=time.monotonic() + 10)
    assert RunStep.objects.get(pk=first.pk).status == StepStatus.SUCCEEDED
    assert RunStep.objects.get(pk=second.pk).status == StepStatus.QUEUED
    assert sent == [second.pk]
