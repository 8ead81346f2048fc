"""Engine behaviour: sub-workflows at their pinned version, retries for transient
provider errors only (a hosted provider mocked at the provider seam), cancel, and
unexpected crashes or workers that keep dying failing the run instead of looping."""

from __future__ import annotations

from typing import ClassVar

import pytest

from runs_app import services
from runs_app.generators.base import (
    GeneratedFile,
    GeneratorError,
    Progress,
    StepRequest,
    TransientGeneratorError,
    no_progress,
)
from runs_app.models import Run, RunStatus, RunStep
from templates_app import services as templates
from templates_app.models import ModelFamily
from tests.helpers import (
    HostedStandIn,
    definition_with_overlay,
    overlay_definition,
    run_now,
    slow_workflow,
    small_definition,
    wait_for,
)

pytestmark = pytest.mark.django_db


def test_subworkflow_runs_its_pinned_version(make_workflow, publish, operator):
    overlay = make_workflow("brand-overlay", "Brand overlay")
    first = publish(overlay, overlay_definition())
    campaign = make_workflow()
    publish(campaign, definition_with_overlay())
    run = services.start_run(actor=operator, workflow=campaign, inputs={"subject": "a fox"})
    # A newer overlay published after the run started does not change what the run executes.
    publish(overlay, overlay_definition("logo top left"))
    spec = run.specification
    assert spec["subworkflows"] == {
        "overlay": {"workflow": "brand-overlay", "version": first.version, "manifest_hash": first.manifest_hash}
    }
    stamp = spec["steps"][2]
    assert stamp["id"] == "overlay.stamp" and stamp["params"]["image"] == {"step": "styled"}
    assert stamp["params"]["prompt"] == "logo bottom right" and stamp["model"].startswith("local/aurora@")
    assert spec["outputs"] == {"hero": "overlay.stamp"}
    done = run_now(run)
    assert done.status == RunStatus.AWAITING_ANNOTATION
    hero = RunStep.objects.get(run=run, step_id="overlay.stamp").output
    assert hero is not None and hero.width == 96


class FlakyHostedProvider(HostedStandIn):
    """Stands in for a hosted image API: fails transiently, then answers."""

    failures_left: ClassVar[int] = 0
    calls: ClassVar[int] = 0

    def generate(self, request: StepRequest, progress: Progress = no_progress) -> GeneratedFile:
        type(self).calls += 1
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            raise TransientGeneratorError("503 from the hosted API")
        if request.params.get("prompt", "").startswith("forbidden"):
            raise GeneratorError("the hosted API refused the prompt (content policy)")
        return self.answer(request, progress)


@pytest.fixture
def hosted(settings, make_workflow, publish, admin_user, monkeypatch):
    settings.FLONIKS_PROVIDERS = {**settings.FLONIKS_PROVIDERS, "hosted": f"{__name__}.FlakyHostedProvider"}
    settings.FLONIKS_RETRY_BACKOFF_MAX_SECONDS = 0  # back-off is counted, not waited for
    templates.add_model_snapshot(
        actor=admin_user, family="acme/painter", snapshot="2026-10-01", tier="premium", provider="hosted"
    )
    workflow = make_workflow("hosted", "Hosted")
    d = small_definition()
    d["steps"] = d["steps"][:1]
    d["steps"][0]["model"] = "acme/painter"
    d["outputs"] = {"hero": "{{steps.background.output}}"}
    publish(workflow, d)
    FlakyHostedProvider.calls = 0
    yield workflow


def test_transient_provider_errors_are_retried(hosted, operator):
    assert ModelFamily.objects.get(name="acme/painter").provider == "hosted"
    FlakyHostedProvider.failures_left = 2
    run = run_now(services.start_run(actor=operator, workflow=hosted, inputs={"subject": "a fox"}))
    assert run.status == RunStatus.AWAITING_ANNOTATION and FlakyHostedProvider.calls == 3


def test_permanent_errors_fail_the_run_readably_without_retry(hosted, operator):
    FlakyHostedProvider.failures_left = 0
    run = run_now(services.start_run(actor=operator, workflow=hosted, inputs={"subject": "forbidden thing"}))
    step = run.steps.get()
    assert run.status == RunStatus.FAILED and FlakyHostedProvider.calls == 1
    assert step.status == "failed" and "content policy" in step.error and "content policy" in run.error


def test_too_many_transient_errors_fail_the_step(hosted, operator):
    FlakyHostedProvider.failures_left = 10
    run = run_now(services.start_run(actor=operator, workflow=hosted, inputs={"subject": "a fox"}))
    assert run.status == RunStatus.FAILED and FlakyHostedProvider.calls == 3 and "503" in run.error


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_cancel_a_running_run(worker, make_workflow, publish, operator, api):
    workflow = slow_workflow(make_workflow, publish)
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"})
    wait_for(lambda: Run.objects.get(pk=run.pk).status == RunStatus.RUNNING, 60, interval=0.05, what="the run to start")
    response = api(operator).post(f"/api/runs/{run.pk}/cancel/")
    assert response.status_code == 200
    wait_for(lambda: Run.objects.get(pk=run.pk).status == RunStatus.CANCELLED, 60, what="the cancel")
    refused = api(operator).post(f"/api/runs/{run.pk}/finalize/", {"label": "x", "annotation": "y"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "not_awaiting_annotation"


def test_an_unexpected_crash_fails_the_run_instead_of_looping(make_workflow, publish, operator, monkeypatch):
    workflow = make_workflow()
    publish(workflow, small_definition())

    def boom(*args, **kwargs):
        raise ValueError("numpy said no")

    monkeypatch.setattr("runs_app.generators.builtin.BuiltinProvider._generate_image", boom)
    run = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x"}))
    assert run.status == RunStatus.FAILED and "numpy said no" in run.error


@pytest.fixture
def dying_run(make_workflow, publish, operator, settings):
    """A run whose first step has used up its attempts: every worker holding it died."""
    workflow = make_workflow()
    publish(workflow, small_definition())
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x"})
    run.steps.filter(step_id="background").update(attempts=settings.FLONIKS_MAX_STEP_ATTEMPTS)
    return run


def test_a_step_whose_worker_keeps_dying_is_failed(dying_run):
    run = run_now(dying_run)
    assert run.status == RunStatus.FAILED and "keeps dying" in run.error


def test_a_cancel_wins_over_a_worker_that_keeps_dying(dying_run, operator):
    from datetime import timedelta

    from django.utils import timezone

    # Its last worker died mid-step; the lease has run out; then the operator cancels.
    dying_run.steps.filter(step_id="background").update(
        status="running", lease_owner="dead-worker", lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    Run.objects.filter(pk=dying_run.pk).update(status=RunStatus.RUNNING)
    services.cancel_run(actor=operator, run=dying_run)
    run = run_now(dying_run)
    assert run.status == RunStatus.CANCELLED and run.error == ""
    assert run.steps.get(step_id="background").status == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_one_sweep_at_a_time(make_workflow, publish, operator):
    """Every worker sweeps on its own thread; while one holds the sweep's lock, another does nothing."""
    import psycopg
    from django.db import connection

    from runs_app import sweep

    workflow = make_workflow()
    publish(workflow, small_definition())
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x"})
    RunStep.objects.filter(run=run, status="queued").update(sent_at=None)  # its message was lost long ago
    Run.objects.filter(pk=run.pk).update(created_at=Run.objects.get(pk=run.pk).created_at.replace(year=2020))
    other = psycopg.connect(**{k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"})
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [sweep.LOCK_KEY])
        assert sweep.sweep() == {"skipped": 1}  # another worker is sweeping
        other.execute("SELECT pg_advisory_unlock(%s)", [sweep.LOCK_KEY])
        assert sweep.sweep()["resent"] == 1  # now this one does the work
    finally:
        other.close()
