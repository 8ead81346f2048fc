"""Builders shared by the run tests."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from runs_app import engine, services
from runs_app.models import Run

SMALL: dict[str, Any] = {
    "inputs": {"subject": {"type": "string", "required": True}, "reference": {"type": "image", "required": False}},
    "steps": [
        {
            "id": "background",
            "kind": "generate_image",
            "model": "local/plasma",
            "params": {"prompt": "{{inputs.subject}}, warm earthy palette", "width": 96, "height": 64, "steps": 12},
        },
        {
            "id": "styled",
            "kind": "img2img",
            "model": "local/mosaic@2026-08-30",
            "params": {"image": "{{steps.background.output}}", "strength": 0.4, "prompt": "film grain"},
        },
    ],
    "outputs": {"hero": "{{steps.styled.output}}"},
}


def small_definition(**param_changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(SMALL)
    d["steps"][0]["params"].update(param_changes)
    return d


def run_now(run: Run) -> Run:
    """Execute a run in this process, exactly as a worker would."""
    engine.execute_run(run.pk, worker="test-process")
    return Run.objects.get(pk=run.pk)


def finished_record(
    actor: Any,
    workflow: Any,
    inputs: dict[str, Any] | None = None,
    label: str = "first look",
    annotation: str = "client asked for warmth",
) -> Any:
    run = run_now(services.start_run(actor=actor, workflow=workflow, inputs=inputs or {"subject": "a fox"}))
    services.finalize_run(actor=actor, run=run, label=label, annotation=annotation)
    record = services.write_record(run_id=run.pk)
    assert record is not None
    return record


def in_threads(count: int, work: Callable[[int], Any]) -> list[BaseException]:
    """Run work(0..count-1) in threads released together by a barrier; each closes its connection."""
    from django.db import connection

    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    return errors
