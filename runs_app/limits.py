"""Run-start bounds (issue 11), applied to a run's expanded specification before any row
is written: how many steps it runs, how many pixels each step reads and writes (sizes that
depend on inputs are known only now), and that no sub-workflow it runs is archived."""

from __future__ import annotations

from typing import Any

from core.errors import Conflict, Problem, ValidationFailed
from runs_app.models import Artifact
from templates_app.limits import PixelLimits, Size, SubworkflowWalk, budget_of, step_count_problems, step_pixels
from templates_app.models import Lifecycle, Workflow, WorkflowVersion


def check_run_size(version: WorkflowVersion, walk: SubworkflowWalk | None = None) -> None:
    """400 `too_many_steps` (or `budget_exceeded`) when the expanded run would be too big, before expanding it."""
    if problems := step_count_problems(
        version.definition, walk or SubworkflowWalk(), budget=budget_of(version.definition)
    ):
        raise ValidationFailed(problems)


def refuse_archived_subworkflows(specification: dict[str, Any]) -> None:
    """409 `workflow_archived` naming every archived workflow the run would run as a sub-workflow (DESIGN §6)."""
    used: dict[str, list[str]] = {}
    for step_id, sub in (specification.get("subworkflows") or {}).items():
        used.setdefault(sub["workflow"], []).append(step_id)
    if not used:
        return
    archived = sorted(
        Workflow.objects.filter(slug__in=used, lifecycle=Lifecycle.ARCHIVED).values_list("slug", flat=True)
    )
    if not archived:
        return
    problems = [
        Problem(
            "workflow_archived",
            step_id,
            f"Step '{step_id}' runs '{slug}', which is archived; an admin must resurrect it before it can run.",
        )
        for slug in archived
        for step_id in used[slug]
    ]
    names = ", ".join(f"'{slug}'" for slug in archived)
    raise Conflict(
        f"This run uses the archived sub-workflow{'s' if len(archived) > 1 else ''} {names}; "
        "an admin must resurrect it before it can run.",
        code="workflow_archived",
        problems=problems,
    )


def check_pixels(specification: dict[str, Any], limits: PixelLimits | None = None) -> None:
    """400 `too_many_pixels` naming the parameter, for every step of the expanded run over the limits."""
    limits = limits or PixelLimits.current()
    steps = specification.get("steps") or []
    shas = {p["artifact"] for s in steps for p in s["params"].values() if isinstance(p, dict) and "artifact" in p}
    uploaded: dict[str, Size] = {
        sha: (w, h) for sha, w, h in Artifact.objects.filter(sha256__in=shas).values_list("sha256", "width", "height")
    }
    sizes: dict[str, Size | None] = {}
    problems: list[Problem] = []
    for step in steps:
        image = step["params"].get("image")
        source = None
        if isinstance(image, dict):
            source = uploaded.get(image["artifact"]) if "artifact" in image else sizes.get(image.get("step", ""))
        found, sizes[step["id"]] = step_pixels(step["kind"], step["params"], source, step["id"], limits)
        problems.extend(found)
    if problems:
        raise ValidationFailed(problems)


def check_specification(specification: dict[str, Any]) -> None:
    """Everything a run's expanded specification must satisfy before it is stored."""
    refuse_archived_subworkflows(specification)
    check_pixels(specification)
