"""Bump classification against the canonical version (DESIGN §3).

patch — only a newer dated snapshot of the same model family;
minor — a same-tier model swap, a prompt or parameter change, an additive
        contract change, gates or budget changes;
major — a model of another tier, a change of output shape, a change of the
        step graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from templates_app.catalogue import Catalogue
from templates_app.definition import (
    STEP_KINDS,
    Reference,
    comfyui_literals,
    comfyui_structure,
    references_in,
    split_model,
)
from templates_app.models import BUMP_ORDER, Bump


@dataclass
class BumpResult:
    bump: Bump
    reasons: list[str] = field(default_factory=list)


def _graph(definition: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The step graph: each step's id, kind, sub-workflow and the earlier steps it reads."""
    graph = []
    for step in definition.get("steps", []):
        deps = set()
        for _path, expr in references_in({k: v for k, v in step.items() if k in ("params", "inputs", "bindings")}, ""):
            ref = Reference.parse(expr)
            if ref and ref.step:
                deps.add(ref.step)
        graph.append((step.get("id"), step.get("kind"), step.get("workflow"), tuple(sorted(deps))))
    return graph


def _params_with_defaults(step: dict[str, Any]) -> dict[str, Any]:
    kind = STEP_KINDS.get(step.get("kind", ""))
    params = dict(step.get("params") or {})
    if kind:
        for name, param in kind.params.items():
            params.setdefault(name, param.default)
    return params


def classify_bump(old: dict[str, Any] | None, new: dict[str, Any], catalogue: Catalogue) -> BumpResult:
    if old is None:
        return BumpResult(Bump.INITIAL, ["first version"])
    found: list[tuple[Bump, str]] = []
    if _graph(old) != _graph(new):
        found.append((Bump.MAJOR, "the step graph changed"))
    old_steps = {s.get("id"): s for s in old.get("steps", [])}
    for step in new.get("steps", []):
        before = old_steps.get(step.get("id"))
        if before is not None and before.get("kind") == step.get("kind"):
            found.extend(_step_changes(before, step, catalogue))
    old_outputs, new_outputs = old.get("outputs") or {}, new.get("outputs") or {}
    for name, expr in new_outputs.items():
        if name not in old_outputs:
            found.append((Bump.MINOR, f"new output '{name}'"))
        elif old_outputs[name] != expr:
            found.append((Bump.MAJOR, f"output '{name}' now comes from elsewhere"))
    if old.get("inputs") != new.get("inputs"):
        found.append((Bump.MINOR, "the input contract changed compatibly"))
    if old.get("policy") != new.get("policy"):
        found.append((Bump.MINOR, "gates or budget changed"))
    if not found:
        found.append((Bump.PATCH, "no behavioural change (explicit defaults only)"))
    top = max(BUMP_ORDER[b] for b, _ in found)
    bump = next(b for b, o in BUMP_ORDER.items() if o == top)
    return BumpResult(bump, [reason for b, reason in found if b == bump])


def _snapshot_change(sid: Any, old_model: str, new_model: str, catalogue: Catalogue) -> tuple[Bump, str]:
    """Patch only for a newer dated snapshot; anything else within the family is a model decision (minor)."""
    old, new = catalogue.resolve(old_model), catalogue.resolve(new_model)
    if old and new and old.snapshot and new.snapshot and new.snapshot > old.snapshot:
        return Bump.PATCH, f"step '{sid}': newer snapshot {new.ref}"
    return Bump.MINOR, f"step '{sid}': {old_model} → {new_model} is not a newer snapshot"


def _step_changes(before: dict[str, Any], after: dict[str, Any], catalogue: Catalogue) -> list[tuple[Bump, str]]:
    sid = after.get("id")
    found: list[tuple[Bump, str]] = []
    old_model, new_model = before.get("model"), after.get("model")
    if old_model != new_model and isinstance(old_model, str) and isinstance(new_model, str):
        old_family, new_family = split_model(old_model)[0], split_model(new_model)[0]
        if old_family == new_family:
            found.append(_snapshot_change(sid, old_model, new_model, catalogue))
        elif catalogue.tier_of(old_model) == catalogue.tier_of(new_model):
            found.append((Bump.MINOR, f"step '{sid}': model swapped within tier {catalogue.tier_of(new_model)}"))
        else:
            found.append((Bump.MAJOR, f"step '{sid}': model of another tier"))
    kind = STEP_KINDS.get(after.get("kind", ""))
    old_params, new_params = _params_with_defaults(before), _params_with_defaults(after)
    for name in sorted(set(old_params) | set(new_params)):
        if old_params.get(name) == new_params.get(name):
            continue
        param = kind.params.get(name) if kind else None
        if param is not None and param.shape:
            found.append((Bump.MAJOR, f"step '{sid}': output shape changed ({name})"))
        else:
            found.append((Bump.MINOR, f"step '{sid}': parameter '{name}' changed"))
    for key in ("version", "inputs", "policy"):
        if before.get(key) != after.get(key):
            found.append((Bump.MINOR, f"step '{sid}': {key} changed"))
    if after.get("kind") == "comfyui":
        found.extend(_comfyui_changes(sid, before, after))
    return found


def _comfyui_changes(sid: Any, before: dict[str, Any], after: dict[str, Any]) -> list[tuple[Bump, str]]:
    """A ComfyUI graph: nodes, classes, links or the output node changed → major; a literal input or
    a binding → minor (DESIGN §3)."""
    if comfyui_structure(before) != comfyui_structure(after):
        return [(Bump.MAJOR, f"step '{sid}': the ComfyUI graph's structure changed")]
    found: list[tuple[Bump, str]] = []
    old, new = comfyui_literals(before), comfyui_literals(after)
    for target in sorted(set(old) | set(new)):
        if old.get(target) != new.get(target):
            found.append((Bump.MINOR, f"step '{sid}': ComfyUI input {target} changed"))
    old_b, new_b = before.get("bindings") or {}, after.get("bindings") or {}
    if old_b != new_b:
        changed = sorted(t for t in set(old_b) | set(new_b) if old_b.get(t) != new_b.get(t))
        found.append((Bump.MINOR, f"step '{sid}': bindings changed ({', '.join(map(str, changed))})"))
    return found
