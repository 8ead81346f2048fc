"""The ComfyUI hand-over (issue 13): from the moment a ComfyUI server has finished a step's prompt
(its history written) to the step's output stored and marked succeeded, and to the next step started.

A workflow of a `comfyui` step on the ComfyUI test server (testing/comfyui_server.py, in this
process, over real HTTP and websocket) followed by a small built-in step that reads its output, run
~50 times one after the other on a real Celery worker (PostgreSQL, Redis, local file storage). The
server's clock and the worker's are the same machine's. Prints the median and p95 of each part
(target: ≤ 50 ms median from done to the next step started).

    .venv/bin/python bench/comfyui_handover.py [--runs 50] [--same-queue] [--size 512]

By default the ComfyUI step is on its pool's queue (comfyui.bench) and the next step on the default
queue, as deployed, so the next step goes through the broker; --same-queue puts both on one queue.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from _env import start_services, user


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--same-queue", action="store_true", help="the ComfyUI step on the default queue too")
    parser.add_argument("--size", type=int, default=512, help="the output's side in pixels (noise: PNG's worst case)")
    args = parser.parse_args()

    from testing.comfyui_server import ComfyUITestServer

    server = ComfyUITestServer().start()
    pools = {"bench": [server.url]}
    import os

    os.environ["FLONIKS_COMFYUI_POOLS"] = json.dumps(pools)
    if args.same_queue:
        os.environ["FLONIKS_PROVIDER_QUEUES"] = "comfyui=floniks"
    env = start_services()  # settings read FLONIKS_COMFYUI_POOLS now; migrate catalogues comfyui/bench

    from runs_app import services
    from runs_app.models import Run, RunStatus
    from templates_app import services as templates
    from testing.worker import CeleryWorker
    from tests.helpers import png_bytes

    operator = user("operator")
    workflow = templates.create_workflow(actor=operator, slug="comfy-bench", name="ComfyUI bench")
    definition = {
        "inputs": {"reference": {"type": "image", "required": True}},
        "steps": [
            {
                "id": "paint",
                "kind": "comfyui",
                "model": "comfyui/bench",
                "graph": {
                    "1": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
                    "2": {"class_type": "ImageAddNoise", "inputs": {"image": ["1", 0], "seed": 0, "strength": 0.3}},
                    "3": {"class_type": "ImageScale", "inputs": {"image": ["2", 0], "upscale_method": "bicubic", "width": args.size, "height": args.size, "crop": "disabled"}},
                    "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "bench"}},
                },
                "bindings": {"1.image": "{{inputs.reference}}", "2.seed": "$seed"},
                "output_node": "4",
            },
            {"id": "after", "kind": "upscale", "model": "local/plasma", "params": {"image": "{{steps.paint.output}}", "factor": 2}},
        ],
        "outputs": {"hero": "{{steps.after.output}}"},
    }  # fmt: skip
    templates.publish_draft(
        actor=operator, draft=templates.save_draft(actor=operator, workflow=workflow, definition=definition)
    )
    ref = services.upload_artifact(actor=operator, data=png_bytes((256, 256)).getvalue()).sha256

    queues = "floniks" if args.same_queue else "floniks,comfyui.bench"
    worker = CeleryWorker(env, concurrency=1, extra_args=("-Q", queues)).start()
    stored: list[float] = []
    started: list[float] = []
    try:
        for i in range(args.runs + 1):  # the first is a warm-up (imports, connections)
            run = services.start_run(actor=operator, workflow=workflow, inputs={"reference": ref})
            deadline = time.monotonic() + 60
            while (status := Run.objects.get(pk=run.pk).status) != RunStatus.AWAITING_ANNOTATION:
                if status == RunStatus.FAILED or time.monotonic() > deadline:
                    raise SystemExit(f"run {run.pk} {status}: {Run.objects.get(pk=run.pk).error}")
                time.sleep(0.02)
            steps = {s.step_id: s for s in run.steps.all()}
            prompt_id = steps["paint"].submitted["prompt_id"]
            done = server.finished[prompt_id]
            if i == 0:
                continue
            stored.append((steps["paint"].finished_at.timestamp() - done) * 1000)
            started.append((steps["after"].started_at.timestamp() - done) * 1000)
    finally:
        worker.stop()
        server.close()

    queue = "floniks" if args.same_queue else "comfyui.bench"
    print(f"ComfyUI hand-over: {args.runs} runs, a {args.size}×{args.size} noise PNG, ComfyUI step on {queue}")
    print("  from the server done (history written) to …")
    for name, values in (("output stored, step succeeded", stored), ("next step started", started)):
        print(
            f"  {name:31s} median {statistics.median(values):6.1f} ms   p95 {percentile(values, 0.95):6.1f} ms"
            f"   (min {min(values):.1f}, max {max(values):.1f})"
        )
    print("  target: ≤ 50 ms median to the next step started")


if __name__ == "__main__":
    main()
