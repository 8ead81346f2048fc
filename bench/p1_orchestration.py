"""P1 — orchestration overhead (DESIGN §12).

100 runs of a 2-step 512×512 built-in workflow end to end (PostgreSQL, Redis,
a real Celery worker, local file storage), against the same generator calls in
a bare loop. Prints both wall times and their ratio (goal ≤ 1.10).

    .venv/bin/python bench/p1_orchestration.py [--runs 100] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import time

from _env import start_services, user


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=1, help="worker processes (the bare loop is one process)")
    args = parser.parse_args()
    env = start_services()

    from runs_app import services
    from runs_app.generators.base import StepRequest
    from runs_app.generators.builtin import BuiltinProvider
    from runs_app.models import Run, RunStatus
    from templates_app import services as templates
    from testing.worker import CeleryWorker

    operator = user("operator")
    workflow = templates.create_workflow(actor=operator, slug="bench", name="Bench")
    from templates_app.management.commands.load_demo import DEMO_DEFINITION  # 2 steps, 512×512

    definition = DEMO_DEFINITION
    templates.publish_draft(
        actor=operator, draft=templates.save_draft(actor=operator, workflow=workflow, definition=definition)
    )

    worker = CeleryWorker(env, concurrency=args.concurrency).start()
    try:
        began = time.perf_counter()
        runs = [
            services.start_run(actor=operator, workflow=workflow, inputs={"subject": f"subject {i}"}).pk
            for i in range(args.runs)
        ]
        while Run.objects.filter(pk__in=runs, status=RunStatus.AWAITING_ANNOTATION).count() < len(runs):
            if Run.objects.filter(pk__in=runs, status=RunStatus.FAILED).exists():
                raise SystemExit("a run failed")
            time.sleep(0.05)
        orchestrated = time.perf_counter() - began
    finally:
        worker.stop()

    # The same generator calls, same seeds and parameters, in a bare loop.
    provider = BuiltinProvider()
    specs = [Run.objects.get(pk=pk).specification["steps"] for pk in runs]
    began = time.perf_counter()
    for background, styled in specs:
        first = provider.generate(
            StepRequest("generate_image", *background["model"].split("@"), background["seed"], background["params"])
        )
        params = {k: v for k, v in styled["params"].items() if not isinstance(v, dict)}
        provider.generate(
            StepRequest("img2img", *styled["model"].split("@"), styled["seed"], params, {"image": first.data})
        )
    bare = time.perf_counter() - began

    print(f"P1 orchestration: {args.runs} runs × 2 steps at 512×512, worker concurrency {args.concurrency}")
    print(
        f"  end to end (PostgreSQL + Redis + Celery): {orchestrated:7.2f} s  ({orchestrated / args.runs * 1000:.0f} ms/run)"
    )
    print(f"  bare generator loop:                      {bare:7.2f} s  ({bare / args.runs * 1000:.0f} ms/run)")
    print(f"  ratio: {orchestrated / bare:.3f}  (goal ≤ 1.10)")


if __name__ == "__main__":
    main()
