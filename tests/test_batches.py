"""Discovery batches and sweeps (DESIGN §15), discarding and finalising later, run again and retry
(issue 15). Runs execute in this process (tests/helpers.run_now), as a worker would."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import Conflict
from runs_app import services
from runs_app.generators import builtin
from runs_app.generators.base import GeneratorError
from runs_app.models import Batch, Run, RunStatus, RunStep, VersionRecord
from tests.helpers import run_now, small_definition

pytestmark = pytest.mark.django_db


@pytest.fixture
def workflow(make_workflow, publish):
    wf = make_workflow()
    publish(wf, small_definition())
    return wf


def _seeds(run: Run) -> dict[str, int | None]:
    return {s.step_id: s.seed for s in run.steps.all()}


def _finalize(operator: Any, run: Run, label: str) -> VersionRecord:
    services.finalize_run(actor=operator, run=run, label=label, annotation=f"kept {label} from the batch")
    record = services.write_record(run_id=run.pk)
    assert record is not None
    return record


def test_a_batch_of_eight_seeds_makes_eight_runs_two_kept_the_rest_discarded_one_kept_later(api, operator, workflow):
    answer = api(operator).post(
        "/api/batches/", {"workflow": workflow.slug, "inputs": {"subject": "a fox"}, "count": 8}, format="json"
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert len(body["runs"]) == 8 and body["created_by"] == operator.username and body["workflow"] == workflow.slug
    assert {"id", "status", "seeds", "swept"} <= set(body["runs"][0])
    seed_sets = {tuple(sorted(r["seeds"].items())) for r in body["runs"]}
    assert len(seed_sets) == 8  # eight distinct seed sets
    assert len({r["seeds"]["background"] for r in body["runs"]}) == 8

    runs = [run_now(Run.objects.get(pk=r["id"])) for r in body["runs"]]
    assert all(r.status == RunStatus.AWAITING_ANNOTATION for r in runs)
    kept = [_finalize(operator, runs[0], "amber"), _finalize(operator, runs[1], "teal")]
    assert [r.number for r in kept] == [kept[0].number, kept[0].number + 1]  # numbered consecutively
    assert kept[0].seeds == _seeds(runs[0]) and kept[1].seeds == _seeds(runs[1])

    for run in runs[2:]:
        assert api(operator).post(f"/api/runs/{run.pk}/discard/").json()["status"] == "discarded"
    assert Run.objects.filter(batch_id=body["id"], status=RunStatus.DISCARDED).count() == 6
    # A discarded run kept everything: finalising it later gives a record with its own seeds and outputs.
    later = Run.objects.get(pk=runs[5].pk)
    outputs_before = {n: a.sha256 for n, a in Run.objects.with_detail().get(pk=later.pk).outputs_by_name().items()}
    answer = api(operator).post(
        f"/api/runs/{later.pk}/finalize/", {"label": "second look", "annotation": "the client liked it after all"}
    )
    assert answer.status_code == 202, answer.content
    record = services.write_record(run_id=later.pk)
    assert record is not None and record.number == kept[1].number + 1
    assert record.seeds == _seeds(later) and {n: o["sha256"] for n, o in record.outputs.items()} == outputs_before
    detail = api(operator).get(f"/api/batches/{body['id']}/").json()
    statuses = sorted(r["status"] for r in detail["runs"])
    assert statuses == ["discarded"] * 5 + ["finalized"] * 3


def test_a_sweep_records_exactly_the_swept_values(api, operator, workflow):
    answer = api(operator).post(
        "/api/batches/",
        {
            "workflow": workflow.slug,
            "inputs": {"subject": "a fox"},
            "sweep": {"background.guidance_scale": [3, 7.5, 12]},
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert [r["swept"] for r in body["runs"]] == [{"background.guidance_scale": v} for v in (3, 7.5, 12)]
    # The cells differ only by the swept value: one seed set shared by the sweep.
    assert len({tuple(sorted(r["seeds"].items())) for r in body["runs"]}) == 1
    recorded = []
    for i, cell in enumerate(body["runs"]):
        run = run_now(Run.objects.get(pk=cell["id"]))
        recorded.append(_finalize(operator, run, f"gs {i}").parameters["background"]["guidance_scale"])
    assert recorded == [3, 7.5, 12]
    outputs = {tuple(Run.objects.with_detail().get(pk=r["id"]).outputs_by_name()) for r in body["runs"]}
    assert outputs == {("hero",)}


def test_a_swept_record_reproduces_with_its_swept_value(operator, workflow):
    batch = services.start_batch(
        actor=operator, workflow=workflow, inputs={"subject": "owl"}, sweep={"background.guidance_scale": [12]}
    )
    run = run_now(batch.runs.get())
    record = _finalize(operator, run, "strong guidance")
    again = run_now(services.reproduce_record(actor=operator, record=record))
    assert again.spec_hash == run.spec_hash
    assert again.reproduction_check.verdict == "exact"


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"count": 65}, "batch_too_large"),
        ({"count": 5, "sweep": {"background.guidance_scale": [3, 7.5, 12, 20]}}, "batch_too_large"),
        ({"sweep": {"background.guidance_scale": [3, "high", 12]}}, "invalid_sweep"),
        ({"sweep": {"background.guidance_scale": [3, 31]}}, "invalid_sweep"),
        ({"sweep": {"background.steps": [10, 12.5]}}, "invalid_sweep"),
        ({"sweep": {"nowhere.guidance_scale": [3]}}, "invalid_sweep"),
        ({"sweep": {"styled.image": ["x"]}}, "invalid_sweep"),
        ({"sweep": {"background.guidance_scale": []}}, "batch_empty"),
        ({}, "count_or_sweep_required"),
        ({"count": 0}, "invalid_count"),
        ({"count": True}, "invalid_count"),
    ],
    ids=[
        "65-seeds",
        "5x4x4-over-64",
        "text-for-a-number",
        "over-the-maximum",
        "fraction-for-an-integer",
        "unknown-step",
        "image-parameter",
        "no-values",
        "neither",
        "zero",
        "boolean",
    ],
)
def test_a_batch_that_is_too_large_or_ill_typed_is_refused_and_starts_nothing(api, operator, workflow, extra, code):
    if code == "batch_too_large" and "sweep" in extra:
        extra = {**extra, "sweep": {**extra["sweep"], "styled.strength": [0.1, 0.2, 0.3, 0.4]}}
    answer = api(operator).post(
        "/api/batches/", {"workflow": workflow.slug, "inputs": {"subject": "a fox"}, **extra}, format="json"
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["errors"][0]["code"] == code
    assert not Run.objects.exists() and not Batch.objects.exists()


def test_batches_are_listed_per_workflow_and_mine(api, operator, manager, workflow, make_workflow, publish):
    other = make_workflow("campaign-b", "Campaign B")
    publish(other, small_definition())
    services.start_batch(actor=operator, workflow=workflow, inputs={"subject": "a"}, count=2)
    services.start_batch(actor=manager, workflow=other, inputs={"subject": "b"}, count=1)
    everything = api(operator).get("/api/batches/").json()["results"]
    assert len(everything) == 2
    mine = api(operator).get("/api/batches/?mine=true").json()["results"]
    assert [b["workflow"] for b in mine] == [workflow.slug] and mine[0]["run_count"] == 2
    per_workflow = api(operator).get(f"/api/batches/?workflow={other.slug}").json()["results"]
    assert [b["created_by"] for b in per_workflow] == [manager.username]


def test_a_batch_counts_once_against_the_quota(settings, operator, workflow):
    settings.FLONIKS_MAX_ACTIVE_RUNS_PER_USER = 2
    batch = services.start_batch(actor=operator, workflow=workflow, inputs={"subject": "a"}, count=5)
    assert batch.runs.count() == 5
    with pytest.raises(Exception) as refused:
        services.start_batch(actor=operator, workflow=workflow, inputs={"subject": "a"}, count=1)
    assert getattr(refused.value, "status", None) == 429
    assert Batch.objects.count() == 1


def test_a_run_awaiting_nothing_cannot_be_discarded(api, operator, workflow):
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x"})
    answer = api(operator).post(f"/api/runs/{run.pk}/discard/")
    assert answer.status_code == 409 and answer.json()["code"] == "not_awaiting_annotation"


# --- run again, retry ---------------------------------------------------------------------


def test_run_again_keeps_version_inputs_and_swept_values_with_fresh_seeds(api, operator, workflow):
    batch = services.start_batch(
        actor=operator, workflow=workflow, inputs={"subject": "owl"}, sweep={"background.guidance_scale": [12]}
    )
    first = batch.runs.get()
    answer = api(operator).post(f"/api/runs/{first.pk}/run-again/")
    assert answer.status_code == 201, answer.content
    again = Run.objects.get(pk=answer.json()["id"])
    assert again.version_id == first.version_id and again.inputs == first.inputs
    assert again.swept == {"background.guidance_scale": 12}
    assert again.specification["steps"][0]["params"]["guidance_scale"] == 12
    assert _seeds(again) != _seeds(first)


def test_run_again_in_production_uses_the_pin(operator, manager, workflow):
    record = _finalize(
        operator, run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a"})), "pinned"
    )
    services.approve_record(actor=manager, record=record)
    services.set_workflow_mode(actor=operator, workflow=workflow, mode="production", pin_record=record)
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "b"})
    again = services.run_again(actor=operator, run=run)
    assert again.mode == "production" and _seeds(again) == record.seeds


class _Calls:
    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.fail_img2img = 1


@pytest.fixture
def counted(monkeypatch) -> _Calls:
    """The built-in provider, counting what it generates; its first img2img step fails for good."""
    calls = _Calls()
    generate = builtin.BuiltinProvider.generate

    def counting(self: Any, request: Any, progress: Any = None) -> Any:
        calls.kinds.append(request.kind)
        if request.kind == "img2img" and calls.fail_img2img:
            calls.fail_img2img -= 1
            raise GeneratorError("the model refused the prompt")
        return generate(self, request, progress) if progress else generate(self, request)

    monkeypatch.setattr(builtin.BuiltinProvider, "generate", counting)
    return calls


def test_retry_reuses_the_first_steps_output_and_generates_only_the_failed_step(api, operator, workflow, counted):
    failed = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"}))
    assert failed.status == RunStatus.FAILED and "refused" in failed.error
    assert counted.kinds == ["generate_image", "img2img"]
    first_output = RunStep.objects.get(run=failed, step_id="background").output_id

    answer = api(operator).post(f"/api/runs/{failed.pk}/retry/")
    assert answer.status_code == 201, answer.content
    retry = run_now(Run.objects.get(pk=answer.json()["id"]))
    assert retry.status == RunStatus.AWAITING_ANNOTATION
    assert counted.kinds.count("generate_image") == 1  # step one was generated once, overall
    assert counted.kinds == ["generate_image", "img2img", "img2img"]
    background = RunStep.objects.get(run=retry, step_id="background")
    assert background.output_id == first_output and background.is_reused
    assert retry.spec_hash == failed.spec_hash and retry.retry_of_id == failed.pk
    steps = {s["id"]: s for s in api(operator).get(f"/api/runs/{retry.pk}/").json()["steps"]}
    assert steps["background"]["reused"] is True and steps["styled"]["reused"] is False

    # Its record is exact: reproducing it regenerates every step with the same seeds and matches.
    record = _finalize(operator, retry, "retried")
    assert record.outputs["hero"]["sha256"] == RunStep.objects.get(run=retry, step_id="styled").output_id
    check = run_now(services.reproduce_record(actor=operator, record=record)).reproduction_check
    assert check.verdict == "exact"


def test_only_a_failed_run_can_be_retried(api, operator, workflow):
    run = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x"}))
    with pytest.raises(Conflict) as refused:
        services.retry_run(actor=operator, run=run)
    assert refused.value.code == "not_retryable"
    assert api(operator).post(f"/api/runs/{run.pk}/retry/").status_code == 409
