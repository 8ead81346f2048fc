"""Rules that guard pointer moves (issue 11): a reason for archiving and resurrecting,
a published version before a direction is approved, and public versions that run only
public sub-workflow versions, so a public manifest never leads to internal material."""

from __future__ import annotations

from typing import Any

from core.errors import Conflict, Problem, ValidationFailed
from templates_app.limits import SubworkflowWalk, subworkflow_steps
from templates_app.models import Visibility, Workflow, WorkflowVersion


def require_reason(reason: str, *, action: str) -> str:
    """400 `reason_required` unless a reason is given; it is kept in the pointer history."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            [Problem("reason_required", "reason", f"Say why you {action}: the reason is kept in the history.")]
        )
    return reason


def refuse_unpublished_direction(workflow: Workflow) -> None:
    """409 `no_published_version`: a direction with nothing published cannot become production."""
    if workflow.canonical_version_id is None:
        raise Conflict(
            f"'{workflow.slug}' has no published version: publish one before approving it as the production direction.",
            code="no_published_version",
        )


def internal_subworkflow_problems(definition: Any, walk: SubworkflowWalk | None = None) -> list[Problem]:
    """Every sub-workflow version a would-be public definition runs, at any depth, that is not public."""
    walk = walk or SubworkflowWalk()
    problems = []
    for index, step in subworkflow_steps(definition):
        seen: set[int] = set()
        pending = [walk.resolve(step["workflow"], step.get("version"))]
        while pending:
            version = pending.pop()
            if version is None or version.pk in seen:
                continue
            seen.add(version.pk)
            if version.visibility != Visibility.PUBLIC:
                via = "" if version.workflow.slug == step["workflow"] else f" (through '{step['workflow']}')"
                problems.append(
                    Problem(
                        "internal_subworkflow",
                        f"steps[{index}].workflow",
                        f"'{version.workflow.slug}' {version.version}{via} is internal: a public version may only "
                        "run public sub-workflow versions. Make that version public first.",
                    )
                )
            pending.extend(
                walk.resolve(s["workflow"], s.get("version")) for _i, s in subworkflow_steps(version.definition)
            )
    return problems


def check_public_subworkflows(definition: Any) -> None:
    """At publish to public: 400 with a gate problem per internal sub-workflow version."""
    if problems := internal_subworkflow_problems(definition):
        raise ValidationFailed(problems)


def refuse_internal_subworkflows(version: WorkflowVersion) -> None:
    """At raising visibility: 409 `internal_subworkflow` with the same problems."""
    if problems := internal_subworkflow_problems(version.definition):
        raise Conflict(problems[0].message, code="internal_subworkflow", problems=problems)
