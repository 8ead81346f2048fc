"""ComfyUI (issue 13): the `comfyui` step kind through the gate and the bump classes, and runs of it
on real Celery workers against the ComfyUI test server (testing/comfyui_server.py) over real HTTP
and websocket: outputs that follow the seed, live progress, cancel → /interrupt, a node's error,
a server restarted mid-step, and a reproduction that frees the server's cache and comes out exact.

The last test drives a real ComfyUI server when COMFYUI_URL names one."""

from __future__ import annotations

import copy
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image, ImageChops

from runs_app import services
from runs_app.models import Run, RunStatus, RunStep, StepStatus, VersionRecord
from runs_app.storage import read_artifact
from templates_app import comfyui as comfyui_pools
from templates_app import services as templates
from testing.comfyui_server import ComfyUITestServer
from testing.worker import CeleryWorker
from tests.helpers import png_bytes, purge_broker, run_now, wait_for, worker_env

POOL = "studio"
FAMILY = f"comfyui/{POOL}"
FINAL = (RunStatus.AWAITING_ANNOTATION, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.FINALIZED)


def graph() -> dict[str, Any]:
    """A reference image blended over a coloured ground, seeded noise, scaled, saved."""
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
        "2": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 48, "batch_size": 1, "color": 0x3366AA}},
        "3": {"class_type": "ImageBlend", "inputs": {"image1": ["2", 0], "image2": ["1", 0], "blend_factor": 0.6, "blend_mode": "normal"}},
        "4": {"class_type": "ImageAddNoise", "inputs": {"image": ["3", 0], "seed": 0, "strength": 0.35}},
        "5": {"class_type": "ImageScale", "inputs": {"image": ["4", 0], "upscale_method": "bicubic", "width": 96, "height": 72, "crop": "disabled"}},
        "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "ComfyUI"}},
    }  # fmt: skip


def comfy_definition(**step_changes: Any) -> dict[str, Any]:
    step = {
        "id": "paint",
        "kind": "comfyui",
        "model": FAMILY,
        "graph": graph(),
        "bindings": {"1.image": "{{inputs.reference}}", "4.seed": "$seed", "6.filename_prefix": "floniks/{{inputs.subject}}"},
        "output_node": "6",
        **step_changes,
    }  # fmt: skip
    return {
        "inputs": {"subject": {"type": "string", "required": True}, "reference": {"type": "image", "required": True}},
        "steps": [step],
        "outputs": {"hero": "{{steps.paint.output}}"},
    }


def pools_of(server: ComfyUITestServer) -> dict[str, list[str]]:
    return {POOL: [server.url]}


@pytest.fixture
def pool(settings: Any, comfyui: ComfyUITestServer) -> ComfyUITestServer:
    """The test server as the pool `studio`, catalogued as comfyui/studio (for tests without workers)."""
    settings.FLONIKS_COMFYUI_POOLS = pools_of(comfyui)
    comfyui_pools.forget()
    templates.sync_comfyui_families()
    return comfyui


# --- the gate ------------------------------------------------------------------------------------


def problems_of(workflow: Any, operator: Any, definition: dict[str, Any]) -> dict[str, str]:
    draft = templates.save_draft(actor=operator, workflow=workflow, definition=definition)
    result = templates.validate_draft(draft=draft)
    return {p.path: f"{p.code}: {p.message}" for p in result.problems}


@pytest.mark.django_db
def test_a_pool_of_settings_is_a_seeded_family_on_a_queue_of_its_own(pool, make_workflow, publish, operator, settings):
    workflow = make_workflow()
    publish(workflow, comfy_definition())
    upload = services.upload_artifact(actor=operator, data=png_bytes().getvalue())
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "fox", "reference": upload.sha256})
    step = run.steps.get()
    assert (step.provider, step.queue, step.kind) == ("comfyui", f"comfyui.{POOL}", "comfyui")
    assert step.seed is not None  # "$seed" is bound: the step takes the run's seed
    frozen = run.specification["steps"][0]["params"]
    assert frozen["bindings"] == {"4.seed": "$seed", "6.filename_prefix": "floniks/fox"}
    assert frozen["1.image"] == {"artifact": upload.sha256}  # loaded by the engine like any step's image

    settings.FLONIKS_PROVIDER_QUEUES = {"comfyui": "gpu"}
    again = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "fox", "reference": upload.sha256})
    assert again.steps.get().queue == "gpu"


@pytest.mark.django_db
def test_the_gate_checks_links_bindings_output_node_and_references(pool, make_workflow, operator):
    workflow = make_workflow()
    broken = comfy_definition()
    step = broken["steps"][0]
    step["graph"]["5"]["inputs"]["image"] = ["9", 0]  # no node 9
    step["graph"]["3"]["inputs"]["image2"] = [1, 0]  # a node id must be text
    step["bindings"] = {
        "1.image": "{{inputs.missing}}",
        "7.text": "{{inputs.subject}}",  # no node 7
        "2.colour": "{{inputs.subject}}",  # EmptyImage has no input "colour" in this graph
        "4.image": "{{inputs.subject}}",  # a link: a binding would cut it
        "2.width": 512,  # a literal belongs in the graph
        "6.filename_prefix": "{{steps.paint.output}}",  # itself
    }
    step["output_node"] = "60"
    found = problems_of(workflow, operator, broken)
    graph_path = "steps[0].graph"
    assert found[f"{graph_path}.5.inputs.image"].startswith("broken_link: Node 5's input 'image' links to node 9")
    assert found[f"{graph_path}.3.inputs.image2"].startswith("broken_link")
    assert found["steps[0].bindings.1.image"].startswith("unresolved_reference: There is no input 'missing'")
    assert found["steps[0].bindings.7.text"].startswith("invalid_binding")
    assert "has no input 'colour'" in found["steps[0].bindings.2.colour"]
    assert "is a link" in found["steps[0].bindings.4.image"]
    assert "fixed value belongs in the graph" in found["steps[0].bindings.2.width"]
    assert found["steps[0].bindings.6.filename_prefix"].startswith("forward_reference")
    assert found["steps[0].output_node"].startswith("unknown_output_node")


@pytest.mark.django_db
def test_seed_only_on_a_seeded_family_and_a_pool_runs_only_graphs(pool, make_workflow, operator, admin_user):
    templates.add_model_snapshot(
        actor=admin_user, family="openai/gpt-image-1", snapshot="2025-04-23", tier="premium", provider="openai"
    )
    workflow = make_workflow()
    unseeded = comfy_definition(model="openai/gpt-image-1")
    found = problems_of(workflow, operator, unseeded)
    assert "takes no seed" in found["steps[0].bindings.4.seed"]
    assert "runs on a ComfyUI pool" in found["steps[0].model"]
    plain = {
        "inputs": {"subject": {"type": "string"}},
        "steps": [{"id": "a", "kind": "generate_image", "model": FAMILY, "params": {"prompt": "{{inputs.subject}}"}}],
        "outputs": {"hero": "{{steps.a.output}}"},
    }
    assert "runs comfyui steps only" in problems_of(workflow, operator, plain)["steps[0].model"]


@pytest.mark.django_db
def test_node_classes_are_checked_against_the_pool_and_an_unreachable_pool_is_only_a_warning(
    pool, make_workflow, operator, settings
):
    workflow = make_workflow()
    custom = comfy_definition()
    custom["steps"][0]["graph"]["7"] = {"class_type": "IPAdapterAdvanced", "inputs": {}}
    found = problems_of(workflow, operator, custom)
    assert found["steps[0].graph.7.class_type"].startswith("unknown_node_class: No server of pool 'studio'")

    port = pool.port
    pool.stop()
    comfyui_pools.forget()
    draft = templates.save_draft(actor=operator, workflow=workflow, definition=custom)
    result = templates.validate_draft(draft=draft)
    assert result.valid, result.problems  # nobody to ask: a warning, not a refusal
    assert [w.code for w in result.warnings] == ["pool_unreachable"]
    assert f"127.0.0.1:{port}" in result.warnings[0].message


@pytest.mark.django_db
def test_graph_structure_is_a_major_bump_literals_and_bindings_minor(pool, make_workflow, publish, operator):
    workflow = make_workflow()
    publish(workflow, comfy_definition())

    def bump_of(definition: dict[str, Any]) -> tuple[str | None, list[str]]:
        draft = templates.save_draft(actor=operator, workflow=workflow, definition=definition)
        result = templates.validate_draft(draft=draft)
        assert result.valid, result.problems
        return result.bump, result.bump_reasons

    literal = comfy_definition()
    literal["steps"][0]["graph"]["4"]["inputs"]["strength"] = 0.5
    assert bump_of(literal) == ("minor", ["step 'paint': ComfyUI input 4.strength changed"])
    bound = comfy_definition()
    bound["steps"][0]["bindings"]["6.filename_prefix"] = "{{inputs.subject}}"
    assert bump_of(bound)[0] == "minor"
    rewired = comfy_definition()
    rewired["steps"][0]["graph"]["5"]["inputs"]["image"] = ["3", 0]  # noise left out
    assert bump_of(rewired) == ("major", ["step 'paint': the ComfyUI graph's structure changed"])
    other_node = comfy_definition()
    other_node["steps"][0]["graph"]["5"]["class_type"] = "ImageScaleBy"
    other_node["steps"][0]["graph"]["5"]["inputs"] = {"image": ["4", 0], "upscale_method": "bicubic", "scale_by": 1.5}
    pool.extra_node_classes["ImageScaleBy"] = {"input": {"required": {}}, "output": ["IMAGE"], "output_node": False}
    comfyui_pools.forget()
    assert bump_of(other_node)[0] == "major"


# --- runs on real workers --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_server() -> Iterator[ComfyUITestServer]:
    server = ComfyUITestServer().start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def comfy_worker(
    django_db_setup: Any, django_db_blocker: Any, module_server: ComfyUITestServer
) -> Iterator[CeleryWorker]:
    """One worker serving the default queue and the pool's queue, told where the pool is."""
    purge_broker()
    env = {
        **worker_env(),
        "FLONIKS_COMFYUI_POOLS": json.dumps(pools_of(module_server)),
        "FLONIKS_STEP_WATCH_SECONDS": "0.2",
    }
    worker = CeleryWorker(env, concurrency=2, extra_args=("-Q", f"floniks,comfyui.{POOL}")).start()
    yield worker
    worker.stop()


@pytest.fixture
def studio(
    comfy_worker: CeleryWorker, module_server: ComfyUITestServer, settings: Any, make_workflow: Any, publish: Any
) -> Iterator[dict[str, Any]]:
    """A published ComfyUI workflow whose pool is the test server, served by a real worker."""
    server = module_server
    if not server.running:
        server.start()
    server.clear_failures()
    server.node_delay = 0.0
    settings.FLONIKS_COMFYUI_POOLS = pools_of(server)
    settings.FLONIKS_STEP_WATCH_SECONDS = 0.2
    comfyui_pools.forget()
    templates.sync_comfyui_families()
    workflow = make_workflow("comfy-hero", "ComfyUI hero")
    publish(workflow, comfy_definition())
    yield {"server": server, "workflow": workflow}
    server.clear_failures()
    server.node_delay = 0.0


def on_workers(test: Callable[..., Any]) -> Callable[..., Any]:
    return pytest.mark.worker(pytest.mark.django_db(transaction=True)(test))


def reference(operator: Any, colour: tuple[int, int, int] = (220, 90, 30)) -> str:
    return services.upload_artifact(actor=operator, data=png_bytes((40, 30), colour).getvalue()).sha256


def start(studio: dict[str, Any], operator: Any, ref: str, subject: str = "fox") -> Run:
    return services.start_run(
        actor=operator, workflow=studio["workflow"], inputs={"subject": subject, "reference": ref}
    )


def ends(run: Run, timeout: float = 60) -> Run:
    wait_for(
        lambda: Run.objects.filter(pk=run.pk, status__in=FINAL).exists(),
        timeout,
        interval=0.05,
        what=f"run {run.pk} to end",
    )
    return Run.objects.get(pk=run.pk)


def pixels(step: RunStep) -> Image.Image:
    assert step.output is not None
    return Image.open(io.BytesIO(read_artifact(step.output))).convert("RGB")


def sent_by(step: RunStep) -> dict[str, Any]:
    """What the step submitted to the server (recorded once it succeeded)."""
    assert step.submitted is not None
    return step.submitted


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a, b).getbbox() is None


@on_workers
def test_a_comfyui_run_uploads_the_reference_binds_the_seed_and_records_what_it_sent(studio, operator):
    server: ComfyUITestServer = studio["server"]
    ref = reference(operator)
    first = ends(start(studio, operator, ref))
    second = ends(start(studio, operator, ref))
    assert first.status == second.status == RunStatus.AWAITING_ANNOTATION, (first.error, second.error)
    a, b = first.steps.get(), second.steps.get()
    assert a.seed != b.seed
    assert not same_pixels(pixels(a), pixels(b))  # another seed, other noise
    assert pixels(a).size == (96, 72)

    sent = sent_by(a)
    assert sent["server"] == server.url and sent["output_node"] == "6"
    assert sent["graph"]["4"]["inputs"]["seed"] == a.seed  # the exact graph submitted, seed in place
    assert sent["graph"]["6"]["inputs"]["filename_prefix"] == "floniks/fox"
    uploaded = sent["graph"]["1"]["inputs"]["image"]
    assert uploaded == sent["uploads"]["1.image"] and uploaded in server.uploads
    assert any(p["prompt_id"] == sent["prompt_id"] and p["prompt"] == sent["graph"] for p in server.prompts)
    assert a.fingerprint["comfyui_version"] == server.version
    assert "ImageAddNoise" in a.fingerprint["node_classes"]
    assert "sd_xl_base_1.0.safetensors" in a.fingerprint["models"]["checkpoints"]
    assert a.fingerprint["models"]["checkpoints"]["sd_xl_base_1.0.safetensors"].startswith("0x")


@on_workers
def test_the_output_is_taken_on_execution_success_without_waiting_for_the_history(studio, operator):
    """The hand-over (issue 13): the output node's `executed` message names the image, so the step
    downloads it as soon as `execution_success` comes, with no `/history` round trip."""
    server: ComfyUITestServer = studio["server"]
    run = ends(start(studio, operator, reference(operator, (30, 60, 200))))
    assert run.status == RunStatus.AWAITING_ANNOTATION, run.error
    step = run.steps.get()
    prompt_id = sent_by(step)["prompt_id"]
    assert ("GET", f"/history/{prompt_id}") not in server.requests
    assert (
        sent_by(step)["output"]["filename"]
        == server.history(prompt_id)[prompt_id]["outputs"]["6"]["images"][0]["filename"]
    )
    assert pixels(step).size == (96, 72)


@on_workers
def test_without_the_executed_message_the_history_names_the_output(studio, operator, monkeypatch):
    """A server (or a connection) that never delivers `executed`: the step still gets its output,
    from `/history` once the prompt has ended."""
    server: ComfyUITestServer = studio["server"]
    send = server._send

    def without_executed(event: str, data: dict[str, Any], sid: str | None, epoch: int | None = None) -> None:
        if event != "executed":
            send(event, data, sid, epoch)

    monkeypatch.setattr(server, "_send", without_executed)
    run = ends(start(studio, operator, reference(operator, (200, 60, 30))))
    assert run.status == RunStatus.AWAITING_ANNOTATION, run.error
    step = run.steps.get()
    prompt_id = sent_by(step)["prompt_id"]
    assert ("GET", f"/history/{prompt_id}") in server.requests
    assert pixels(step).size == (96, 72)


@on_workers
def test_progress_is_followed_live_from_the_websocket(studio, operator):
    server: ComfyUITestServer = studio["server"]
    server.node_delay = 0.35  # each node, and each quarter of the noise, takes this long
    run = start(studio, operator, reference(operator, (10, 200, 90)))
    seen: set[float] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        step = RunStep.objects.get(run=run)
        if step.status == StepStatus.RUNNING and 0 < step.progress < 1:
            seen.add(round(step.progress, 4))
        if step.status in (StepStatus.SUCCEEDED, StepStatus.FAILED):
            break
        time.sleep(0.03)
    assert ends(run).status == RunStatus.AWAITING_ANNOTATION
    assert len(seen) >= 3, seen


@on_workers
def test_cancel_interrupts_the_server(studio, operator):
    server: ComfyUITestServer = studio["server"]
    server.node_delay = 1.0
    run = start(studio, operator, reference(operator, (30, 30, 200)))
    assert server.wait_running(30)
    services.cancel_run(actor=operator, run=run)
    assert ends(run, 30).status == RunStatus.CANCELLED
    step = RunStep.objects.get(run=run)
    prompt_id = step.submitted["prompt_id"] if step.submitted else None
    assert server.wait_until(lambda s: bool(s.interrupts), 10)
    prompt_ids = [p["prompt_id"] for p in server.prompts]
    assert server.interrupts[-1] == {"prompt_id": prompt_ids[-1]}
    assert prompt_id is None  # nothing was produced, so nothing was recorded as submitted
    assert server.wait_until(lambda s: s.history(prompt_ids[-1]) != {}, 10)
    assert server.history(prompt_ids[-1])[prompt_ids[-1]]["status"]["messages"][-1][0] == "execution_interrupted"


@on_workers
@pytest.mark.parametrize(
    ("make_error", "message"),
    [
        (lambda server, d: server.fail_node("ImageAddNoise", "CUDA out of memory. Tried to allocate 2.00 GiB"),
         "ComfyUI node 4 (ImageAddNoise) failed: CUDA out of memory. Tried to allocate 2.00 GiB"),
        (lambda server, d: d["steps"][0]["graph"]["5"]["inputs"].update(upscale_method="sideways"),
         "ComfyUI refused node 5 (ImageScale): Value not in list: upscale_method: 'sideways' not in"),
    ],
    ids=["execution_error", "validation_400"],
)  # fmt: skip
def test_a_node_error_fails_the_step_with_the_nodes_message_and_is_not_retried(
    studio, operator, make_workflow, publish, make_error, message
):
    server: ComfyUITestServer = studio["server"]
    definition = comfy_definition()
    make_error(server, definition)
    workflow = make_workflow("comfy-broken", "Broken")
    publish(workflow, definition)
    posts = server.requests.count(("POST", "/prompt"))
    run = ends(
        services.start_run(actor=operator, workflow=workflow, inputs={"subject": "x", "reference": reference(operator)})
    )
    step = run.steps.get()
    assert run.status == RunStatus.FAILED and step.status == StepStatus.FAILED
    assert message in step.error, step.error
    assert step.attempts == 1
    assert server.requests.count(("POST", "/prompt")) - posts == 1  # submitted once, not tried again


@on_workers
def test_a_server_restarted_mid_step_is_retried_and_the_step_succeeds(studio, operator):
    server: ComfyUITestServer = studio["server"]
    server.node_delay = 0.4
    before = len(server.prompts)
    run = start(studio, operator, reference(operator, (250, 250, 0)))
    assert server.wait_running(30)
    port = server.port
    server.stop()  # as a killed process: the websocket drops, the prompt and the history are lost
    server.node_delay = 0.0
    server.start()
    assert server.port == port
    done = ends(run)
    assert done.status == RunStatus.AWAITING_ANNOTATION, done.error
    step = done.steps.get()
    assert step.attempts == 1  # one claim; the provider's transient error was retried within it
    lost, retried = server.prompts[before:]  # the prompt lost with the server, then the retry's
    assert lost["prompt_id"] != retried["prompt_id"] == sent_by(step)["prompt_id"]
    assert lost["prompt"] == retried["prompt"]
    assert step.output is not None and pixels(step).size == (96, 72)


@on_workers
def test_reproducing_a_comfyui_record_frees_the_cache_first_and_is_exact(studio, operator):
    server: ComfyUITestServer = studio["server"]
    run = ends(start(studio, operator, reference(operator, (120, 40, 160))))
    assert run.status == RunStatus.AWAITING_ANNOTATION, run.error
    services.finalize_run(actor=operator, run=run, label="first", annotation="purple")
    record = wait_for(lambda: VersionRecord.objects.filter(run_id=run.pk).first(), 60, what="the record")
    executions, frees = server.executions, len(server.frees)

    again = ends(services.reproduce_record(actor=operator, record=record))
    assert again.status in (RunStatus.AWAITING_ANNOTATION, RunStatus.FINALIZED), again.error
    check = wait_for(lambda: record.checks.exclude(verdict="pending").first(), 60, what="the reproduction's verdict")
    assert check.verdict == "exact"
    assert server.frees[frees:] == [{"unload_models": True, "free_memory": True}]
    assert server.executions == executions + 1  # really executed, not answered from the cache
    original, reproduced = run.steps.get(), again.steps.get()
    assert sent_by(reproduced)["freed_cache"] is True and reproduced.seed == original.seed
    assert same_pixels(pixels(original), pixels(reproduced))  # the same seed, the same pixels


# --- a real ComfyUI server ---------------------------------------------------------------------------


@pytest.mark.skipif(not os.environ.get("COMFYUI_URL"), reason="COMFYUI_URL names no real ComfyUI server")
@pytest.mark.django_db(transaction=True)  # a step of seconds: the watch must see the run
def test_a_real_comfyui_server_runs_a_graph(settings, make_workflow, publish, operator):
    """Core nodes only (no model weights needed): an uploaded image, scaled, inverted, saved."""
    settings.FLONIKS_COMFYUI_POOLS = {"real": [os.environ["COMFYUI_URL"].rstrip("/")]}
    comfyui_pools.forget()
    templates.sync_comfyui_families()
    definition = {
        "inputs": {"reference": {"type": "image", "required": True}},
        "steps": [
            {
                "id": "paint",
                "kind": "comfyui",
                "model": "comfyui/real",
                "graph": {
                    "1": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
                    "2": {"class_type": "ImageScale", "inputs": {"image": ["1", 0], "upscale_method": "bicubic", "width": 80, "height": 60, "crop": "disabled"}},
                    "3": {"class_type": "ImageInvert", "inputs": {"image": ["2", 0]}},
                    "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "floniks-test"}},
                },
                "bindings": {"1.image": "{{inputs.reference}}"},
                "output_node": "4",
            }
        ],
        "outputs": {"hero": "{{steps.paint.output}}"},
    }  # fmt: skip
    workflow = make_workflow("real-comfy", "Real ComfyUI")
    publish(workflow, copy.deepcopy(definition))
    run = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"reference": reference(operator)}))
    assert run.status == RunStatus.AWAITING_ANNOTATION, run.error
    step = run.steps.get()
    assert pixels(step).size == (80, 60)
    assert step.fingerprint["comfyui_version"] and step.fingerprint["node_classes"]


# --- pages ---------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # a step of about a second: the watch must see the run
def test_the_run_and_record_pages_show_a_comfyui_step(pool, make_workflow, publish, operator, client, settings):
    """In this process (no worker needed for pages): the run and its record render, the step's error
    or output and its bindings readable."""
    # Its steps go to a queue no worker serves: this module's worker (module-scoped) must not take them.
    settings.FLONIKS_PROVIDER_QUEUES = {**settings.FLONIKS_PROVIDER_QUEUES, "comfyui": "comfyui.pages-test"}
    workflow = make_workflow()
    publish(workflow, comfy_definition())
    run = run_now(
        services.start_run(
            actor=operator, workflow=workflow, inputs={"subject": "owl", "reference": reference(operator)}
        )
    )
    assert run.status == RunStatus.AWAITING_ANNOTATION, run.error
    client.force_login(operator)
    page = client.get(f"/runs/{run.pk}/")
    assert page.status_code == 200
    services.finalize_run(actor=operator, run=run, label="owl", annotation="comfy")
    record = services.write_record(run_id=run.pk)
    assert record is not None
    page = client.get(f"/records/{record.pk}/")
    assert page.status_code == 200
    assert "floniks/owl" in page.content.decode()  # the bound filename prefix, as frozen

    pool.fail_node("ImageScale", "Tensor sizes do not match")
    failed = run_now(
        services.start_run(
            actor=operator, workflow=workflow, inputs={"subject": "owl", "reference": reference(operator)}
        )
    )
    assert failed.status == RunStatus.FAILED
    page = client.get(f"/runs/{failed.pk}/")
    assert "ComfyUI node 5 (ImageScale) failed: Tensor sizes do not match" in page.content.decode()
