"""Parallel branches (DESIGN §4): a diamond against the same steps in sequence.

A diamond workflow — A → B, A → C, (B + C) → D — whose B and C are independent ~1-second
built-in `animate` steps, run end to end (PostgreSQL, Redis, one real Celery worker with two
pool processes, local file storage), against the same four steps made sequential (B reads A,
C reads B, D reads C: same kinds, models, parameters and sizes, so the same work). Runs go one
at a time, alternating between the two workflows in rounds, so the only parallelism is inside
a run. Prints both wall times and their ratio, for the whole run and for the B + C segment
(from the steps' own started_at/finished_at): the design's target (≤ 0.6) is about the two
independent steps; A and D, short on purpose, run alone in both workflows.

    .venv/bin/python bench/p_parallel.py [--rounds 5] [--runs 2] [--frames 10] [--size 512]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

from _env import start_services, user


def definition(*, parallel: bool, frames: int, size: int) -> dict[str, Any]:
    """B and C read A in the diamond; C reads B in the sequence. D reads B's image and, through a
    text reference in its prompt, C (a text reference is a dependency too), or C's image in the
    sequence: the same prompt text either way, so the same pixels to make."""
    branch = {"frames": frames, "width": size, "height": size, "fps": 12, "format": "webp"}
    return {
        "inputs": {"subject": {"type": "string", "required": True}},
        "steps": [
            {
                "id": "a",
                "kind": "generate_image",
                "model": "local/plasma",
                "params": {"prompt": "{{inputs.subject}}, warm earthy palette", "width": size, "height": size},
            },
            {
                "id": "b",
                "kind": "animate",
                "model": "local/aurora",
                "params": {"prompt": "cool night", "image": "{{steps.a.output}}", **branch},
            },
            {
                "id": "c",
                "kind": "animate",
                "model": "local/aurora",
                "params": {
                    "prompt": "vibrant ocean",
                    "image": "{{steps.a.output}}" if parallel else "{{steps.b.output}}",
                    **branch,
                },
            },
            {
                "id": "d",
                "kind": "img2img",
                "model": "local/mosaic",
                "params": {
                    "image": "{{steps.b.output}}" if parallel else "{{steps.c.output}}",
                    "prompt": "film grain after {{steps.c.output}}",
                    "strength": 0.4,
                },
            },
        ],
        "outputs": {"final": "{{steps.d.output}}", "left": "{{steps.b.output}}", "right": "{{steps.c.output}}"},
    }


@dataclass
class Measured:
    wall: float  # start_run → awaiting annotation, seen from the client
    segment: float  # first of B/C started → last of B/C finished
    overlap: float  # seconds B and C were both running
    branch: float  # mean of B's and C's own running time (started_at → finished_at)


def run_once(operator: Any, workflow: Any, subject: str) -> Measured:
    from runs_app import services
    from runs_app.models import Run, RunStatus

    began = time.perf_counter()
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": subject})
    while True:
        status = Run.objects.values_list("status", flat=True).get(pk=run.pk)
        if status == RunStatus.AWAITING_ANNOTATION:
            break
        if status in (RunStatus.FAILED, RunStatus.CANCELLED):
            raise SystemExit(f"run {run.pk} {status}: {Run.objects.get(pk=run.pk).error}")
        time.sleep(0.01)
    wall = time.perf_counter() - began
    steps = {s.step_id: s for s in Run.objects.get(pk=run.pk).steps.all()}
    b, c = steps["b"], steps["c"]
    assert b.started_at and b.finished_at and c.started_at and c.finished_at
    segment = (max(b.finished_at, c.finished_at) - min(b.started_at, c.started_at)).total_seconds()
    overlap = max(0.0, (min(b.finished_at, c.finished_at) - max(b.started_at, c.started_at)).total_seconds())
    branch = ((b.finished_at - b.started_at) + (c.finished_at - c.started_at)).total_seconds() / 2
    return Measured(wall, segment, overlap, branch)


def bare_branch_seconds(frames: int, size: int, repeats: int = 3) -> float:
    """One B step's generator call alone in this process: what '~1 second' means on this machine now."""
    from runs_app.generators.base import StepRequest
    from runs_app.generators.builtin import BuiltinProvider

    provider = BuiltinProvider()
    source = provider.generate(
        StepRequest("generate_image", "local/plasma", "", 1, {"prompt": "warm", "width": size, "height": size})
    ).data
    params = {"prompt": "cool night", "frames": frames, "width": size, "height": size, "fps": 12, "format": "webp"}
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        provider.generate(StepRequest("animate", "local/aurora", "", 1, params, {"image": source}))
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5, help="alternate diamond and sequence in this many rounds")
    parser.add_argument("--runs", type=int, default=2, help="runs of each workflow per round (one at a time)")
    parser.add_argument("--frames", type=int, default=10, help="frames of B and C (10 at 512×512 ≈ 1 s here)")
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    env = start_services()

    from templates_app import services as templates
    from testing.worker import CeleryWorker

    operator = user("operator")
    workflows = {}
    for name, parallel in (("diamond", True), ("sequence", False)):
        workflow = templates.create_workflow(actor=operator, slug=f"bench-{name}", name=name.title())
        draft = templates.save_draft(
            actor=operator,
            workflow=workflow,
            definition=definition(parallel=parallel, frames=args.frames, size=args.size),
        )
        templates.publish_draft(actor=operator, draft=draft)
        workflows[name] = workflow

    bare = bare_branch_seconds(args.frames, args.size)
    results: dict[str, list[Measured]] = {"diamond": [], "sequence": []}
    load_before = os.getloadavg()
    worker = CeleryWorker(env, concurrency=2).start()
    try:
        # Long-lived workers: one untimed run of each first (imports, connections, caches in both children).
        for name, workflow in workflows.items():
            run_once(operator, workflow, f"warm-up {name}")
        for r in range(args.rounds):
            # Which goes first alternates too, so a slow patch of the shared machine is spread evenly.
            order = ("diamond", "sequence") if r % 2 == 0 else ("sequence", "diamond")
            for name in order:
                for i in range(args.runs):
                    results[name].append(run_once(operator, workflows[name], f"subject {name} {r}.{i}"))
    finally:
        worker.stop()
    load_after = os.getloadavg()

    diamond, sequence = results["diamond"], results["sequence"]

    def total(ms: list[Measured], attr: str) -> float:
        return sum(getattr(m, attr) for m in ms)

    def median(ms: list[Measured], attr: str) -> float:
        return statistics.median(getattr(m, attr) for m in ms)

    n = len(diamond)
    print(
        f"Parallel branches: diamond A → (B ‖ C) → D vs the same steps in sequence; B, C = animate "
        f"{args.frames} frames {args.size}×{args.size}; one worker, concurrency 2; {n} runs of each, {args.rounds} rounds"
    )
    print(f"  one B step's generator call alone: {bare:.2f} s")
    print(f"  load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min; {os.cpu_count()} CPUs)")
    print("                       diamond   sequence   ratio")
    for label, attr in (("whole run (wall)", "wall"), ("B + C segment", "segment")):
        d, s = total(diamond, attr), total(sequence, attr)
        print(
            f"  {label:<18} {d / n:8.2f} s {s / n:8.2f} s   {d / s:.3f}"
            f"   (medians {median(diamond, attr):.2f} / {median(sequence, attr):.2f} s)"
        )
    per_run = [d.segment / s.segment for d, s in zip(diamond, sequence, strict=True)]
    print(f"  B + C segment ratio per paired run: {min(per_run):.3f}–{max(per_run):.3f}")
    print(
        f"  B and C both running (diamond): {total(diamond, 'overlap') / n:.2f} s on average; "
        f"a branch step's own time: {total(diamond, 'branch') / n:.2f} s in the diamond, "
        f"{total(sequence, 'branch') / n:.2f} s in sequence"
    )
    print("  target (DESIGN §4): B + C segment ratio ≤ 0.6")


if __name__ == "__main__":
    main()
