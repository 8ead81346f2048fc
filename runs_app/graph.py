"""The step graph of a frozen specification (DESIGN §4): which steps are ready, which gate is reached.

A step is ready when every step it reads (`after`, recorded at run start from its references, sub-
workflow steps expanded) has succeeded. Pure functions over the specification and the steps'
statuses, so the rules are tested without a database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SUCCEEDED = "succeeded"
PENDING = "pending"


def after(specification: Mapping[str, Any], index: int) -> list[str]:
    """The steps step `index` waits for. A specification frozen before steps carried `after`
    ran its steps one after another, and still does."""
    step = specification["steps"][index]
    if "after" in step:
        return list(step["after"])
    return [specification["steps"][index - 1]["id"]] if index else []


def ready_steps(specification: Mapping[str, Any], statuses: Mapping[str, str]) -> list[str]:
    """Pending steps whose every dependency has succeeded, in definition order."""
    return [
        step["id"]
        for index, step in enumerate(specification["steps"])
        if statuses.get(step["id"]) == PENDING
        and all(statuses.get(d) == SUCCEEDED for d in after(specification, index))
    ]


def waited_for(specification: Mapping[str, Any], step_id: str) -> bool:
    """Whether any step waits for `step_id`."""
    return any(step_id in after(specification, index) for index in range(len(specification["steps"])))


def all_succeeded(statuses: Mapping[str, str]) -> bool:
    return all(status in (SUCCEEDED, "skipped") for status in statuses.values())


def gates(specification: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list((specification.get("policy") or {}).get("gates") or [])


def gate_reached(specification: Mapping[str, Any], statuses: Mapping[str, str], passed: set[str]) -> str | None:
    """The first gate not yet passed whose steps have all succeeded — unless nothing is left to run
    after it, where pausing would only delay the annotation."""
    if all_succeeded(statuses):
        return None
    for gate in gates(specification):
        covered = gate.get("steps") or [gate["after"]]
        if gate["after"] not in passed and all(statuses.get(s) == SUCCEEDED for s in covered):
            return str(gate["after"])
    return None
