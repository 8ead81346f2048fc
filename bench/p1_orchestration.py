"""P1 — orchestration overhead (DESIGN §12).

100 runs of a 2-step 512×512 built-in workflow end to end (PostgreSQL, Redis,
a real Celery worker, local file storage), against the same generator calls in
a bare loop, alternating in rounds. Prints both wall times and their ratio
(goal ≤ 1.10).

    .venv/bin/python bench/p1_orchestration.py [--runs 100] [--rounds 5] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _env import start_services, user


class BareLoop:
    """A run's two generator calls, nothing else: the reference the orchestration is measured against."""

    def __init__(self) -> None:
        from runs_app.generators.builtin import BuiltinProvider

        self.provider = BuiltinProvider()

    def run(self, steps: list[dict[str, Any]]) -> None:
        from runs_app.generators.base import StepRequest

        background, styled = steps
        first = self.provider.generate(
            StepRequest("generate_image", *background["model"].split("@"), background["seed"], background["params"])
        )
        params = {k: v for k, v in styled["params"].items() if not isinstance(v, dict)}
        self.provider.generate(
            StepRequest("img2img", *styled["model"].split("@"), styled["seed"], params, {"image": first.data})
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="alternate orchestrated and bare in this many rounds")
    parser.add_argument("--concurrency", type=int, default=1, help="worker processes (the bare loop is one process)")
    args = parser.parse_args()
    env = start_services()

    from django.db.models import Max

    from runs_app import services
    from runs_app.models import Run, RunStatus
    from templates_app import services as templates
    from testing.worker import CeleryWorker

    operator = user("operator")
    workflow = templates.create_workflow(actor=operator, slug="bench", name="Bench")
    from composition.management.commands.load_demo import DEMO_DEFINITION  # 2 steps, 512×512

    definition = DEMO_DEFINITION
    templates.publish_draft(
        actor=operator, draft=templates.save_draft(actor=operator, workflow=workflow, definition=definition)
    )

    # Rounds alternate the two measurements, so a slow patch of the (shared, virtual) machine
    # weighs on both sides instead of on one.
    provider = BareLoop()
    orchestrated = bare = 0.0
    ratios = []
    worker = CeleryWorker(env, concurrency=args.concurrency).start()
    try:
        # Production workers are long-lived: one untimed run each way first (imports, connections, caches).
        warm = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "warm-up"})
        while Run.objects.get(pk=warm.pk).status != RunStatus.AWAITING_ANNOTATION:
            time.sleep(0.05)
        provider.run(warm.specification["steps"])
        for r in range(args.rounds):
            size = args.runs // args.rounds
            began = time.time()
            runs = [
                services.start_run(actor=operator, workflow=workflow, inputs={"subject": f"subject {r}.{i}"}).pk
                for i in range(size)
            ]
            # Polled slowly, so that the poll takes no CPU from the machine being measured; the end is
            # when the worker finished the last run (its own clock, the same machine's).
            while Run.objects.filter(pk__in=runs, status=RunStatus.AWAITING_ANNOTATION).count() < len(runs):
                if Run.objects.filter(pk__in=runs, status=RunStatus.FAILED).exists():
                    raise SystemExit("a run failed")
                time.sleep(0.25)
            ended = Run.objects.filter(pk__in=runs).aggregate(Max("finished_at"))["finished_at__max"]
            round_orchestrated = ended.timestamp() - began
            # The same generator calls, same seeds and parameters, in a bare loop.
            specs = [Run.objects.get(pk=pk).specification["steps"] for pk in runs]
            began = time.perf_counter()
            for steps in specs:
                provider.run(steps)
            round_bare = time.perf_counter() - began
            orchestrated, bare = orchestrated + round_orchestrated, bare + round_bare
            ratios.append(round_orchestrated / round_bare)
    finally:
        worker.stop()

    print(f"P1 orchestration: {args.runs} runs × 2 steps at 512×512, worker concurrency {args.concurrency}")
    print(
        f"  end to end (PostgreSQL + Redis + Celery): {orchestrated:7.2f} s  ({orchestrated / args.runs * 1000:.0f} ms/run)"
    )
    print(f"  bare generator loop:                      {bare:7.2f} s  ({bare / args.runs * 1000:.0f} ms/run)")
    print(f"  ratio: {orchestrated / bare:.3f}  (goal ≤ 1.10); per round {min(ratios):.3f}–{max(ratios):.3f}")


if __name__ == "__main__":
    main()
