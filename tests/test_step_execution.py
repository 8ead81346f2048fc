"""Steps as the unit of execution (issue 12), seen from outside: parallel branches of a diamond on
two worker processes, a step's own timeout and its policy outliving the global task limits, retries
for transient provider errors only, the run's budget, gates (pause, continue, cancel, who continued
in the record) and per-provider queues.

Real PostgreSQL, Redis and Celery worker processes where the behaviour is about workers; the retry
counts in this process (tests.helpers.run_now) with a fake provider at the provider seam."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
from django.utils.dateparse import parse_datetime

from runs_app import services
from runs_app.generators.base import (
    GeneratedFile,
    GeneratorError,
    Progress,
    StepRequest,
    TransientGeneratorError,
    no_progress,
)
from runs_app.models import PendingSignature, Run, RunStatus, VersionRecord
from templates_app import services as templates
from testing.worker import CeleryWorker
from tests.helpers import HostedStandIn, purge_broker, run_now, small_definition, wait_for, worker_env

pytestmark = pytest.mark.django_db


def on_workers(test: Callable[..., Any]) -> Callable[..., Any]:
    """Real worker processes share the test's database, so the test's writes must be committed."""
    return pytest.mark.worker(pytest.mark.django_db(transaction=True)(test))


FINAL = (RunStatus.AWAITING_ANNOTATION, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.FINALIZED)

# A step that takes several seconds on the built-in generator (an animation of many large frames),
# at 3.7 Mpx in all, about a ninth of FLONIKS_MAX_ANIMATION_PIXELS.
SLOW_ANIMATION = {"prompt": "{{inputs.subject}} at dusk", "frames": 14, "width": 512, "height": 512}


def at(value: str | None) -> dt.datetime:
    parsed = parse_datetime(value or "")
    assert parsed is not None, f"not a timestamp: {value!r}"
    return parsed


def run_json(client: Any, run_id: Any) -> dict[str, Any]:
    response = client.get(f"/api/runs/{run_id}/")
    assert response.status_code == 200
    return response.json()


def steps_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in body["steps"]}


def reaches(run_id: Any, *statuses: str, timeout: float = 60) -> Run:
    wait_for(
        lambda: Run.objects.filter(pk=run_id, status__in=statuses).exists(),
        timeout,
        interval=0.1,
        what=f"run {run_id} to reach {' or '.join(statuses)} (now {Run.objects.get(pk=run_id).status})",
    )
    return Run.objects.get(pk=run_id)


def start(workflow: Any, operator: Any, subject: str = "a fox") -> Run:
    return services.start_run(actor=operator, workflow=workflow, inputs={"subject": subject})


def slow_definition(step_policy: dict[str, Any] | None = None) -> dict[str, Any]:
    """A slow animation (with `step_policy`), then a quick image that names it in its prompt."""
    slow: dict[str, Any] = {"id": "motion", "kind": "animate", "model": "local/plasma", "params": dict(SLOW_ANIMATION)}
    if step_policy:
        slow["policy"] = step_policy
    after = {
        "id": "still",
        "kind": "generate_image",
        "model": "local/mosaic",
        "params": {"prompt": "a still of {{steps.motion.output}}", "width": 96, "height": 64, "steps": 12},
    }
    return {
        "inputs": {"subject": {"type": "string", "required": True}},
        "steps": [slow, after],
        "outputs": {"loop": "{{steps.motion.output}}", "still": "{{steps.still.output}}"},
    }


@pytest.fixture(scope="module")
def shared_worker(django_db_setup: Any, django_db_blocker: Any) -> Iterator[CeleryWorker]:
    """One worker of two pool processes for the tests below that only need workers to be there and
    wait for every run they start to end: starting a worker takes seconds, and the module must stay
    quick. (Tests about a worker itself, its limits or its queues start their own with start_worker.)"""
    purge_broker()
    worker = CeleryWorker(worker_env(), concurrency=2).start()
    yield worker
    worker.stop()


# --- 1. a diamond's branches run at the same time ---------------------------------------------------


def diamond_definition(size: int = 1024) -> dict[str, Any]:
    """A → B, A → C, (B + C) → D. No step kind takes two images, so D is an img2img of B whose prompt
    names C's output: a reference in text is a dependency too."""
    large = {"width": size, "height": size, "steps": 60}
    return {
        "inputs": {"subject": {"type": "string", "required": True}},
        "steps": [
            {"id": "a", "kind": "generate_image", "model": "local/plasma", "params": {"prompt": "{{inputs.subject}}, warm", **large}},
            {"id": "b", "kind": "img2img", "model": "local/aurora", "params": {"image": "{{steps.a.output}}", "prompt": "cool", "steps": 60}},
            {"id": "c", "kind": "img2img", "model": "local/mosaic", "params": {"image": "{{steps.a.output}}", "prompt": "sunset", "steps": 60}},
            {"id": "d", "kind": "img2img", "model": "local/plasma", "params": {"image": "{{steps.b.output}}", "prompt": "gold, beside {{steps.c.output}}"}},
        ],
        "outputs": {"hero": "{{steps.d.output}}"},
    }  # fmt: skip


@on_workers
def test_a_diamonds_branches_run_at_the_same_time(shared_worker, make_workflow, publish, operator, api):
    workflow = make_workflow("diamond", "Diamond")
    publish(workflow, diamond_definition())
    run = start(workflow, operator)
    assert [(s["id"], s["after"]) for s in run.specification["steps"]] == [
        ("a", []),
        ("b", ["a"]),
        ("c", ["a"]),
        ("d", ["b", "c"]),
    ]
    assert reaches(run.pk, *FINAL).status == RunStatus.AWAITING_ANNOTATION
    steps = steps_of(run_json(api(operator), run.pk))
    a, b, c, d = (steps[k] for k in "abcd")
    assert all(s["status"] == "succeeded" for s in (a, b, c, d))
    assert at(a["finished_at"]) <= min(at(b["started_at"]), at(c["started_at"]))
    # B and C were generating at the same time on the two processes: their intervals overlap.
    assert at(b["started_at"]) < at(c["finished_at"]) and at(c["started_at"]) < at(b["finished_at"]), (b, c)
    assert at(d["started_at"]) >= max(at(b["finished_at"]), at(c["finished_at"]))


# --- 2. the run's budget -------------------------------------------------------------------------


@on_workers
def test_a_run_over_its_budget_fails_and_starts_nothing_more(shared_worker, make_workflow, publish, operator, api):
    workflow = make_workflow("budgeted", "Budgeted")
    d = slow_definition()
    d["policy"] = {"budget": {"max_seconds": 2}}
    publish(workflow, d)
    run = start(workflow, operator)
    assert [s["after"] for s in run.specification["steps"]] == [[], ["motion"]]
    assert reaches(run.pk, *FINAL).status == RunStatus.FAILED
    time.sleep(1)  # a step wrongly released after the failure would have started by now
    body = run_json(api(operator), run.pk)
    steps = steps_of(body)
    assert body["error_code"] == "budget_exceeded", body["error"]
    # The step generating when the budget ran out (the run's first) ends with the run's reason...
    assert steps["motion"]["status"] in ("failed", "cancelled") and steps["motion"]["error_code"] == "budget_exceeded"
    assert not steps["motion"]["outputs"]
    # ...and the step after it never started.
    assert steps["still"]["status"] == "cancelled" and steps["still"]["started_at"] is None


# --- 3. gates ------------------------------------------------------------------------------------


def gated_definition() -> dict[str, Any]:
    """Three steps in a row with a gate after the first."""
    d = small_definition()
    d["steps"].append(
        {
            "id": "finish",
            "kind": "img2img",
            "model": "local/aurora",
            "params": {"image": "{{steps.styled.output}}", "prompt": "gold", "strength": 0.3},
        }
    )
    d["outputs"] = {"draft": "{{steps.background.output}}", "hero": "{{steps.finish.output}}"}
    d["policy"] = {"gates": [{"after": "background"}]}
    return d


@pytest.fixture
def at_the_gate(shared_worker, make_workflow, publish, operator, api) -> dict[str, Any]:
    """A run paused at its gate after its first step, seen through the API a couple of seconds later."""
    workflow = make_workflow("gated", "Gated")
    publish(workflow, gated_definition())
    run = start(workflow, operator)
    reaches(run.pk, RunStatus.AWAITING_GATE, *FINAL)
    time.sleep(1.5)  # nothing after the gate may start meanwhile
    return run_json(api(operator), run.pk)


@on_workers
def test_a_gate_pauses_the_run_and_continue_completes_it_with_the_gate_in_the_record(
    at_the_gate, operator, outsider, api
):
    paused = at_the_gate
    steps = steps_of(paused)
    assert paused["status"] == "awaiting_gate" and paused["gate"] == {"after": "background"}
    assert steps["background"]["status"] == "succeeded" and steps["background"]["outputs"]
    assert paused["outputs"]["draft"]["sha256"] == steps["background"]["outputs"][0]["sha256"]
    assert "hero" not in paused["outputs"]
    for later in ("styled", "finish"):
        assert steps[later]["status"] == "pending" and steps[later]["started_at"] is None

    refused = api(outsider).post(f"/api/runs/{paused['id']}/continue/")
    assert refused.status_code in (403, 404)
    assert Run.objects.get(pk=paused["id"]).status == RunStatus.AWAITING_GATE

    client = api(operator)
    assert client.post(f"/api/runs/{paused['id']}/continue/").status_code == 200
    assert reaches(paused["id"], *FINAL).status == RunStatus.AWAITING_ANNOTATION
    done = run_json(client, paused["id"])
    assert done["gate"] is None and all(s["status"] == "succeeded" for s in done["steps"])
    again = client.post(f"/api/runs/{paused['id']}/continue/")
    assert again.status_code == 409 and again.json()["code"] == "not_at_gate"

    finalised = client.post(
        f"/api/runs/{paused['id']}/finalize/", {"label": "gated", "annotation": "looked at the draft"}, format="json"
    )
    assert finalised.status_code == 202
    record = wait_for(lambda: VersionRecord.objects.filter(run_id=paused["id"]).first(), 30, what="the record")
    gates = client.get(f"/api/records/{record.pk}/").json()["gates"]
    assert [(g["after"], g["continued_by"]) for g in gates] == [("background", operator.username)]
    continued_at = at(gates[0]["continued_at"])
    assert at(paused["steps"][0]["finished_at"]) < continued_at < at(steps_of(done)["styled"]["started_at"])
    # The shared worker signs the record next; that must end before the test's tables are emptied.
    wait_for(lambda: not PendingSignature.objects.filter(record=record).exists(), 60, what="the record's signing")


@on_workers
def test_cancel_at_a_gate_ends_the_run_and_nothing_after_it_starts(at_the_gate, operator, api):
    client = api(operator)
    assert at_the_gate["status"] == "awaiting_gate"
    cancelled = client.post(f"/api/runs/{at_the_gate['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    time.sleep(1)  # a step wrongly released by the cancel would have started by now
    body = run_json(client, at_the_gate["id"])
    steps = steps_of(body)
    assert body["status"] == "cancelled" and body["gate"] is None
    assert steps["background"]["status"] == "succeeded"
    for later in ("styled", "finish"):
        assert steps[later]["status"] == "cancelled" and steps[later]["started_at"] is None
    again = client.post(f"/api/runs/{at_the_gate['id']}/continue/")
    assert again.status_code == 409 and again.json()["code"] == "not_at_gate"


@on_workers
def test_a_branch_queued_beside_the_gate_runs_once_the_run_continues(
    start_worker, make_workflow, publish, operator, api
):
    """Gate after B of a diamond on one worker process: C, queued beside B, does not start while the run
    waits (its message arrives then), yet runs as soon as the operator continues — not a sweep later."""
    workflow = make_workflow("gated-diamond", "Gated diamond")
    d = diamond_definition(size=128)
    d["policy"] = {"gates": [{"after": "b"}]}
    publish(workflow, d)
    start_worker(concurrency=1)
    run = start(workflow, operator)
    reaches(run.pk, RunStatus.AWAITING_GATE, *FINAL)
    time.sleep(1)
    client = api(operator)
    steps = steps_of(run_json(client, run.pk))
    assert steps["b"]["status"] == "succeeded" and steps["d"]["started_at"] is None
    assert client.post(f"/api/runs/{run.pk}/continue/").status_code == 200
    assert reaches(run.pk, *FINAL, timeout=15).status == RunStatus.AWAITING_ANNOTATION


def test_continue_on_a_run_not_at_a_gate_is_refused(make_workflow, publish, operator, outsider, api):
    workflow = make_workflow()
    publish(workflow, small_definition())
    run = start(workflow, operator)  # queued: no worker here
    refused = api(operator).post(f"/api/runs/{run.pk}/continue/")
    assert refused.status_code == 409 and refused.json()["code"] == "not_at_gate"
    assert api(outsider).post(f"/api/runs/{run.pk}/continue/").status_code in (403, 404)
    assert api(None).post(f"/api/runs/{run.pk}/continue/").status_code in (401, 403)
    assert Run.objects.get(pk=run.pk).status == RunStatus.QUEUED


# --- 4. a step's timeout, and a policy longer than the old global limits ------------------------


@on_workers
def test_a_step_over_its_timeout_fails_in_about_a_second_and_the_worker_goes_on(
    start_worker, make_workflow, publish, operator, api
):
    slow = make_workflow("slow", "Slow")
    publish(slow, slow_definition({"timeout_seconds": 1}))
    quick = make_workflow("quick", "Quick")
    publish(quick, small_definition())
    worker = start_worker(concurrency=1)
    run = start(slow, operator)
    assert reaches(run.pk, *FINAL).status == RunStatus.FAILED
    body = run_json(api(operator), run.pk)
    motion = steps_of(body)["motion"]
    assert body["error_code"] == "step_timeout" and motion["status"] == "failed"
    assert motion["error_code"] == "step_timeout" and "timeout" in motion["error"]
    # "In about a second" (issue 12): the generator was stopped, not left to finish its several seconds.
    took = at(motion["finished_at"]) - at(motion["started_at"])
    assert took < dt.timedelta(seconds=3), took
    # The same single worker process is free for the next run.
    nxt = start(quick, operator, "the next one")
    assert reaches(nxt.pk, *FINAL, timeout=30).status == RunStatus.AWAITING_ANNOTATION
    assert worker.process.poll() is None


@on_workers
def test_a_step_whose_policy_allows_more_than_the_global_task_limits_completes(
    start_worker, make_workflow, publish, operator, api
):
    workflow = make_workflow("long", "Long")
    d = slow_definition({"timeout_seconds": 30})
    d["steps"][0]["params"]["frames"] = 28  # several seconds even on an idle machine: longer than both lowered limits
    publish(workflow, d)
    # The global limits a whole run used to live under, lowered far below the step's few seconds.
    start_worker(env={"CELERY_TASK_SOFT_TIME_LIMIT": "1", "CELERY_TASK_TIME_LIMIT": "2"})
    run = start(workflow, operator)
    assert reaches(run.pk, *FINAL).status == RunStatus.AWAITING_ANNOTATION
    motion = steps_of(run_json(api(operator), run.pk))["motion"]
    assert motion["status"] == "succeeded" and motion["attempts"] == 1
    assert motion["duration_ms"] > 2000, "the step must outlive the lowered hard limit for this test to show anything"


# --- 5. retries: transient provider errors only, as many as the policy says -------------------


class FailingHostedProvider(HostedStandIn):
    """Stands in for a hosted image API that fails `failures_left` times, transiently or not."""

    failures_left: ClassVar[int] = 0
    transient: ClassVar[bool] = True
    calls: ClassVar[int] = 0
    stopped_for: ClassVar[str] = ""  # stopped by the watch for this reason while generating, and ignores it

    def generate(self, request: StepRequest, progress: Progress = no_progress) -> GeneratedFile:
        type(self).calls += 1
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            if type(self).transient:
                raise TransientGeneratorError("503 from the hosted API")
            raise GeneratorError("the hosted API refused the prompt (content policy)")
        if type(self).stopped_for:
            request.handle.mark_cancelled(type(self).stopped_for)
        return self.answer(request, progress)


@pytest.fixture
def hosted(settings, make_workflow, publish, admin_user) -> Iterator[Callable[[dict[str, Any]], Any]]:
    """A workflow whose one step runs on the fake hosted provider with the given step policy."""
    settings.FLONIKS_PROVIDERS = {**settings.FLONIKS_PROVIDERS, "hosted": f"{__name__}.FailingHostedProvider"}
    settings.FLONIKS_RETRY_BACKOFF_MAX_SECONDS = 0  # back-off is counted, not waited for
    templates.add_model_snapshot(
        actor=admin_user, family="acme/painter", snapshot="2026-10-01", tier="premium", provider="hosted"
    )
    FailingHostedProvider.calls, FailingHostedProvider.failures_left, FailingHostedProvider.stopped_for = 0, 0, ""

    def make(step_policy: dict[str, Any]) -> Any:
        workflow = make_workflow(f"hosted-{len(step_policy)}-{step_policy.get('retries', 'd')}", "Hosted")
        d = small_definition()
        d["steps"] = d["steps"][:1]
        d["steps"][0]["model"] = "acme/painter"
        d["steps"][0]["policy"] = step_policy
        d["outputs"] = {"hero": "{{steps.background.output}}"}
        publish(workflow, d)
        return workflow

    yield make


@pytest.mark.parametrize(
    ("retries", "transient", "attempts"),
    [(0, True, 1), (3, True, 4), (3, False, 1)],
    ids=["retries-0-transient", "retries-3-transient", "retries-3-not-transient"],
)
def test_retries_follow_the_step_policy_for_transient_errors_only(hosted, operator, retries, transient, attempts):
    workflow = hosted({"retries": retries})
    FailingHostedProvider.failures_left, FailingHostedProvider.transient = 100, transient
    run = run_now(start(workflow, operator))
    step = run.steps.get()
    assert FailingHostedProvider.calls == attempts
    assert run.status == RunStatus.FAILED and run.error_code == "provider_error"
    assert step.status == "failed" and step.error_code == "provider_error"
    assert ("503" if transient else "content policy") in step.error


def test_a_transient_error_then_success_completes_within_the_retries(hosted, operator):
    workflow = hosted({"retries": 3})
    FailingHostedProvider.failures_left, FailingHostedProvider.transient = 3, True
    run = run_now(start(workflow, operator))
    assert run.status == RunStatus.AWAITING_ANNOTATION and FailingHostedProvider.calls == 4


@pytest.mark.parametrize("reason", ["step_timeout", "budget_exceeded"])
def test_a_provider_that_ignores_the_stop_does_not_succeed_late(hosted, operator, reason):
    """A provider past the step's timeout or the run's budget is told to stop; one that carries on and
    returns an image anyway has its output refused: the step fails for the reason it was stopped."""
    workflow = hosted({"retries": 0})
    FailingHostedProvider.stopped_for = reason
    run = run_now(start(workflow, operator))
    step = run.steps.get()
    assert FailingHostedProvider.calls == 1
    assert run.status == RunStatus.FAILED and run.error_code == reason
    assert step.status == "failed" and step.error_code == reason and step.output is None


# --- 6. per-provider queues ----------------------------------------------------------------------


@on_workers
def test_a_step_on_another_queue_waits_for_a_worker_of_that_queue(
    start_worker, make_workflow, publish, operator, api, settings
):
    settings.FLONIKS_PROVIDER_QUEUES = {"builtin": "q-test"}
    workers_env = {"FLONIKS_PROVIDER_QUEUES": "builtin=q-test"}
    workflow = make_workflow()
    publish(workflow, small_definition())
    start_worker(env=workers_env, extra_args=("-Q", "floniks"))
    run = start(workflow, operator)
    time.sleep(2.5)  # the `floniks` worker had every chance to take it
    body = run_json(api(operator), run.pk)
    assert body["status"] == "queued"
    assert [(s["queue"], s["status"], s["started_at"]) for s in body["steps"]] == [
        ("q-test", "queued", None),
        ("q-test", "pending", None),
    ]
    start_worker(env=workers_env, extra_args=("-Q", "q-test"))
    assert reaches(run.pk, *FINAL, timeout=30).status == RunStatus.AWAITING_ANNOTATION
