"""Resolve a workflow version into a frozen Workflow Specification.

The specification is the version's definition with this run's inputs slotted
in, every sub-workflow expanded at the version it runs, every floating model
resolved to a snapshot and every seed decided. It is stored on the run with
its hash; executing it needs nothing else."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import Problem, ValidationFailed
from core.jsonsafe import check_json
from runs_app import limits as run_limits
from runs_app.generators import comfyui_env
from runs_app.models import Artifact
from templates_app.catalogue import Catalogue
from templates_app.definition import (
    REFERENCE,
    STEP_KINDS,
    Reference,
    comfyui_seeded,
    input_value_error,
    split_model,
)
from templates_app.limits import SubworkflowWalk, max_run_steps
from templates_app.manifest import manifest_of
from templates_app.models import WorkflowVersion

MAX_SEED = 2**32 - 1

Binding = Any  # a concrete value, {"artifact": sha}, {"step": id} or None
MAX_NESTING = 8


@dataclass
class Overrides:
    """What a production pin or a version record imposes on a run, by step id."""

    seeds: Mapping[str, int] = field(default_factory=dict)
    models: Mapping[str, str] = field(default_factory=dict)
    use_recorded_models: bool = False  # reproduce with the recorded snapshots…
    accept_drift: bool = False  # …unless the operator chose today's snapshots where they differ
    subworkflows: Mapping[str, str] = field(default_factory=dict)  # step id → the sub-workflow version it ran
    # step id → {param: value}: a batch's swept values (DESIGN §15), or a record's recorded ones when it
    # is reproduced, so a swept run rebuilds exactly. Checked against each parameter's schema.
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass
class Resolution:
    specification: dict[str, Any]
    spec_hash: str
    drift_warnings: list[dict[str, str]]


def validate_inputs(contract: Mapping[str, Any], given: Any) -> dict[str, Any]:
    """Run inputs checked against the version's input contract; every problem at once."""
    if not isinstance(given, dict):
        raise ValidationFailed([Problem("invalid_input", "inputs", "inputs must be an object of name → value.")])
    check_json(given, path="inputs", max_depth=8)  # issue 11: NUL characters or deep nesting → 400, not a 500
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for name in given:
        if name not in contract:
            known = ", ".join(contract) or "none"
            problems.append(
                Problem("unknown_input", f"inputs.{name}", f"This workflow has no input '{name}' (has: {known}).")
            )
    for name, spec in contract.items():
        typ, path = spec.get("type"), f"inputs.{name}"
        if name not in given or given[name] is None or given[name] == "":
            if "default" in spec:
                value = spec["default"]
            elif spec.get("required"):
                problems.append(Problem("missing_input", path, f"Input '{name}' is required."))
                continue
            else:
                continue
        else:
            value = given[name]
        if error := input_value_error(typ, value):
            problems.append(Problem("invalid_input", path, f"'{name}' {error}."))
        else:
            values[name] = float(value) if typ == "number" else value
    images = {v for n, v in values.items() if contract[n].get("type") == "image"}
    known_images = set(Artifact.objects.filter(sha256__in=images).values_list("sha256", flat=True)) if images else set()
    for name, value in values.items():
        if contract[name].get("type") == "image" and value not in known_images:
            problems.append(Problem("unknown_artifact", f"inputs.{name}", f"No uploaded image has sha256 {value}."))
    if problems:
        raise ValidationFailed(problems)
    return values


class _Expander:
    """Flattens a definition and its sub-workflows into executable steps."""

    def __init__(self, catalogue: Catalogue, overrides: Overrides, fresh_seeds: bool) -> None:
        self.catalogue = catalogue
        self.overrides = overrides
        self.fresh_seeds = fresh_seeds
        self.steps: list[dict[str, Any]] = []
        self.subworkflows: dict[str, dict[str, str]] = {}
        self.problems: list[Problem] = []
        self.warnings: list[dict[str, str]] = []
        self.walk = SubworkflowWalk()  # issue 11: sub-workflows resolved once per version
        self.reads: set[str] = set()  # the steps the step being expanded reads
        self.cap = max_run_steps()

    def expand(self, definition: dict[str, Any], prefix: str, bindings: dict[str, Binding]) -> dict[str, Binding]:
        scope: dict[str, Binding] = {}  # local step id → its output binding (a dict of outputs for sub-workflows)
        for step in definition.get("steps", []):
            if len(self.steps) >= self.cap:  # issue 11: never build more steps than a run may have
                if not any(p.code == "too_many_steps" for p in self.problems):
                    self.problems.append(
                        Problem("too_many_steps", "steps", f"This run would have more than {self.cap} steps.")
                    )
                return {}
            full_id = prefix + step["id"]
            if step["kind"] == "subworkflow":
                scope[step["id"]] = self._subworkflow(step, full_id, bindings, scope)
                continue
            self.steps.append(self._step(step, full_id, bindings, scope))
            scope[step["id"]] = {"step": full_id}
        return {name: self._bind(expr, bindings, scope) for name, expr in (definition.get("outputs") or {}).items()}

    def _subworkflow(
        self, step: dict[str, Any], full_id: str, bindings: dict[str, Binding], scope: dict[str, Binding]
    ) -> Binding:
        if full_id.count(".") >= MAX_NESTING:
            self.problems.append(
                Problem("subworkflow_cycle", full_id, f"Sub-workflows nest deeper than {MAX_NESTING}: a cycle?")
            )
            return {}
        # A record or pin names the exact version its run used; otherwise the step's own choice (canonical by default).
        pinned = self.overrides.subworkflows.get(full_id)
        target = self.walk.resolve(step["workflow"], pinned or step.get("version"))
        if pinned and target is not None:
            today = self.walk.resolve(step["workflow"], step.get("version"))
            if today is not None and today.version != pinned:
                self.warnings.append(
                    {
                        "step": full_id,
                        "recorded": f"{step['workflow']}@{pinned}",
                        "current": f"{step['workflow']}@{today.version}",
                        "reason": "subworkflow_pinned",
                        "message": f"Sub-workflow step '{full_id}' runs {step['workflow']} {pinned} as recorded; its canonical version is now {today.version}.",
                    }
                )
        if target is None:
            self.problems.append(
                Problem("missing_subworkflow", full_id, f"Sub-workflow '{step['workflow']}' has no version to run.")
            )
            return {}
        self.subworkflows[full_id] = {
            "workflow": step["workflow"],
            "version": target.version,
            "manifest_hash": target.manifest_hash,
        }
        sub_bindings = {name: self._bind(expr, bindings, scope) for name, expr in (step.get("inputs") or {}).items()}
        for name, spec in (target.definition.get("inputs") or {}).items():
            if name not in sub_bindings and "default" in spec:
                sub_bindings[name] = spec["default"]
        return self.expand(target.definition, full_id + ".", sub_bindings)

    def _bind(self, expr: Any, bindings: dict[str, Binding], scope: dict[str, Binding]) -> Binding:
        """A whole-value reference becomes its binding; text with references has them substituted."""
        if not isinstance(expr, str):
            return expr
        if REFERENCE.fullmatch(expr.strip()):
            return self._lookup(REFERENCE.fullmatch(expr.strip()).group(1), bindings, scope)  # type: ignore[union-attr]
        return REFERENCE.sub(lambda m: _as_text(self._lookup(m.group(1), bindings, scope)), expr)

    def _lookup(self, expression: str, bindings: dict[str, Binding], scope: dict[str, Binding]) -> Binding:
        found = self._resolve(expression, bindings, scope)
        if isinstance(found, dict) and isinstance(found.get("step"), str):
            self.reads.add(found["step"])  # the step being expanded depends on that one (DESIGN §4)
        return found

    def _resolve(self, expression: str, bindings: dict[str, Binding], scope: dict[str, Binding]) -> Binding:
        ref = Reference.parse(expression)
        if ref is None:
            return None
        if ref.input is not None:
            return bindings.get(ref.input)
        target = scope.get(ref.step or "")
        if ref.output is not None and isinstance(target, dict) and "step" not in target:
            return target.get(ref.output)
        return target

    def _step(
        self, step: dict[str, Any], full_id: str, bindings: dict[str, Binding], scope: dict[str, Binding]
    ) -> dict[str, Any]:
        kind = STEP_KINDS[step["kind"]]
        self.reads = set()
        params: dict[str, Any] = {}
        given = step.get("params") or {}
        if kind.name == "comfyui":
            params = self._comfyui(step, bindings, scope)
        for name, param in kind.params.items():
            if name in given:
                value = self._bind(given[name], bindings, scope)
                if value is None and param.type == "image":
                    continue  # an optional image input left empty
                # A value that came from an input is checked against the parameter's schema only now.
                if param.type != "image" and given[name] != value and (error := param.check(value)):
                    self.problems.append(
                        Problem("invalid_input", f"{full_id}.params.{name}", f"{name} {error} (got {value!r}).")
                    )
                params[name] = value
            elif param.default is not None:
                params[name] = param.default
        for name, value in (self.overrides.params.get(full_id) or {}).items():
            overridden = kind.params.get(name)
            if overridden is None or overridden.type == "image":
                self.problems.append(Problem("invalid_sweep", f"{full_id}.{name}", f"'{name}' cannot be set here."))
            elif error := overridden.check(value):
                self.problems.append(Problem("invalid_sweep", f"{full_id}.{name}", f"{name} {error} (got {value!r})."))
            else:
                params[name] = value
        model = self._model(step["model"], full_id) if kind.takes_model else ""
        if model and (info := self.catalogue.families.get(split_model(model)[0])) and info.unavailable:
            # Refused before anything is queued: a hosted provider without its key on this server.
            self.problems.append(
                Problem("model_unavailable", full_id, f"{info.name} cannot run now: {info.unavailable}")
            )
        takes_seed = comfyui_seeded(step) if kind.name == "comfyui" else kind.takes_seed
        seed = self._seed(full_id) if takes_seed else None
        frozen: dict[str, Any] = {"id": full_id, "kind": kind.name, "model": model, "seed": seed, "params": params}
        # The steps it reads, so it runs as soon as they have succeeded, and its own policy, enforced at run time.
        frozen["after"] = sorted(self.reads)
        if step.get("policy"):
            frozen["policy"] = dict(step["policy"])
        return frozen

    def _comfyui(self, step: dict[str, Any], bindings: dict[str, Binding], scope: dict[str, Binding]) -> dict[str, Any]:
        """A ComfyUI step frozen: its graph and output node as defined, its bindings resolved — text and
        numbers under `bindings` ("$seed" stays, the provider puts the step's seed there), and each
        image as a parameter of its own named by its target, `{"artifact": …}` or `{"step": …}`, so
        the engine loads it as it loads any step's images."""
        frozen: dict[str, Any] = {"graph": step["graph"], "output_node": step["output_node"], "bindings": {}}
        for target, expr in (step.get("bindings") or {}).items():
            value = expr if expr == "$seed" else self._bind(expr, bindings, scope)
            if isinstance(value, dict):
                frozen[target] = value
            elif value is not None:
                frozen["bindings"][target] = value
        return frozen

    def _model(self, declared: str, step_id: str) -> str:
        today = self.today(declared)
        recorded = self.overrides.models.get(step_id)
        if recorded is None or not self.overrides.use_recorded_models:
            if today is None:
                self.problems.append(
                    Problem("retired_model", step_id, f"{declared} has no available snapshot to run with.")
                )
                return declared
            return today
        warning = drift_warning(step_id, recorded, today, self.catalogue)
        if warning is None or not blocks_reproduction(warning):
            return recorded  # still available: reproduce with it even where a newer default exists (DESIGN §7)
        self.warnings.append(warning)
        if today is None or not self.overrides.accept_drift:
            self.problems.append(Problem("model_drift", step_id, warning["message"]))
            return recorded
        return today

    def today(self, declared: str) -> str | None:
        """The snapshot a step's model resolves to today; None when nothing available."""
        family, snapshot = split_model(declared)
        info = self.catalogue.families.get(family)
        if info is None:
            return None
        if snapshot is not None and self.catalogue.is_available(family, snapshot):
            return f"{family}@{snapshot}"
        return f"{family}@{info.default}" if info.default else None

    def _seed(self, step_id: str) -> int:
        if step_id in self.overrides.seeds:
            return int(self.overrides.seeds[step_id])
        if not self.fresh_seeds:
            self.warnings.append(
                {
                    "step": step_id,
                    "recorded": "",
                    "current": "",
                    "reason": "unpinned_seed",
                    "message": f"Step '{step_id}' has no pinned seed; it gets a fresh one.",
                }
            )
        return secrets.randbelow(MAX_SEED + 1)


def _as_text(binding: Binding) -> str:
    if isinstance(binding, dict):
        return binding.get("step") or binding.get("artifact") or ""
    return "" if binding is None else str(binding)


# An external environment that no longer matches the fingerprint its snapshot recorded (DESIGN §7,
# §8: a ComfyUI server whose nodes or model files changed) asks for the drift choice like a retired
# snapshot. Providers that keep fingerprints register a check here: given the step id and its
# recorded `family@snapshot`, it answers a warning with reason ENVIRONMENT_CHANGED (step, recorded,
# current, reason, message) or None. The built-in generators register none; ComfyUI's check (its
# servers against the captured fingerprint) is built into drift_warning.
ENVIRONMENT_CHANGED = "environment_changed"
EnvironmentCheck = Callable[[str, str, Catalogue], "dict[str, str] | None"]
ENVIRONMENT_CHECKS: list[EnvironmentCheck] = []

# What stops a reproduction until the operator chooses: only a recorded snapshot that can no longer
# run as recorded. A newer default is not among them: the recorded snapshot is used (DESIGN §7).
BLOCKING_REASONS = frozenset({"retired", ENVIRONMENT_CHANGED})


def drift_warning(step_id: str, recorded: str, today: str | None, catalogue: Catalogue) -> dict[str, str] | None:
    """A warning when a recorded snapshot is retired, its external environment changed, or it
    differs from what the step resolves to today."""
    family, snapshot = split_model(recorded)
    if snapshot is not None and not catalogue.is_available(family, snapshot):
        current = today or "nothing available"
        return {
            "step": step_id,
            "recorded": recorded,
            "current": current,
            "reason": "retired",
            "message": f"Step '{step_id}' was made with {recorded}, which is retired; today it would use {current}.",
        }
    for check in ENVIRONMENT_CHECKS:
        if (changed := check(step_id, recorded, catalogue)) is not None:
            return changed
    environment = environment_change(recorded, catalogue)
    if environment is not None and environment.changed:
        return {
            "step": step_id,
            "recorded": recorded,
            "current": today or recorded,
            "reason": "environment_changed",
            "message": f"Step '{step_id}' was made with {recorded}; its ComfyUI server has changed since: "
            f"{environment.text}.",
        }
    if today is not None and today != recorded:
        return {
            "step": step_id,
            "recorded": recorded,
            "current": today,
            "reason": "newer_default",
            "message": f"Step '{step_id}' was made with {recorded}; today it resolves to {today}.",
        }
    if environment is not None and environment.unreachable:
        return {
            "step": step_id,
            "recorded": recorded,
            "current": today or recorded,
            "reason": "environment_unknown",
            "message": f"Step '{step_id}' runs on {recorded}, whose environment could not be compared today: "
            f"{' '.join(environment.unreachable)}",
        }
    return None


def environment_change(ref: str, catalogue: Catalogue) -> comfyui_env.Drift | None:
    """How the servers of a snapshot's pool compare today with the environment it holds (None for a
    snapshot without one: built-in families, or a pool not captured yet)."""
    family, snapshot = split_model(ref)
    if snapshot is None or not _external(family, snapshot, catalogue):
        return None
    return comfyui_env.drift(family, catalogue.fingerprint(family, snapshot) or {})


def _external(family: str, snapshot: str | None, catalogue: Catalogue) -> bool:
    """A snapshot that holds a captured environment, which a server can be compared with (ComfyUI)."""
    info = catalogue.families.get(family)
    return bool(snapshot and info and info.provider == comfyui_env.PROVIDER and catalogue.fingerprint(family, snapshot))


def blocks_reproduction(warning: dict[str, str]) -> bool:
    """A recorded snapshot that can no longer run as recorded (retired, or its environment changed)
    stops a reproduction until the operator chooses today's snapshot or flags the record; a newer
    default alone, or a server that did not answer, is only worth telling."""
    return warning["reason"] in BLOCKING_REASONS


def resolve_specification(
    *,
    version: WorkflowVersion,
    inputs: dict[str, Any],
    catalogue: Catalogue,
    overrides: Overrides | None = None,
) -> Resolution:
    overrides = overrides or Overrides()
    expander = _Expander(catalogue, overrides, fresh_seeds=not overrides.seeds)
    run_limits.check_run_size(version, expander.walk)  # issue 11: refuse an oversize run before expanding it
    bindings = {
        name: ({"artifact": value} if spec.get("type") == "image" and isinstance(value, str) else value)
        for name, spec in (version.definition.get("inputs") or {}).items()
        if (value := inputs.get(name)) is not None
    }
    outputs = expander.expand(version.definition, "", bindings)
    if expander.problems:
        raise ValidationFailed(expander.problems)
    specification = {
        "workflow": version.workflow.slug,
        "version": version.version,
        "manifest_hash": version.manifest_hash,
        # No mode here: the mode only decides the seeds, which are frozen below. So a production run
        # or a reproduction with the same seeds has the same spec, hash and output bytes.
        "inputs": inputs,
        "subworkflows": expander.subworkflows,
        "steps": expander.steps,
        "outputs": {name: (b or {}).get("step") if isinstance(b, dict) else None for name, b in outputs.items()},
        "policy": _run_policy(version.definition, expander.steps),
    }
    run_limits.check_specification(specification)  # issue 11: archived sub-workflows, pixels per step
    _text, spec_hash = manifest_of(specification)
    return Resolution(specification, spec_hash, expander.warnings)


def _run_policy(definition: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The workflow's budget and gates, frozen with the run. A gate after a sub-workflow step waits for
    every step that sub-workflow expanded into."""
    policy = definition.get("policy") or {}
    gates = []
    for gate in policy.get("gates") or []:
        after = gate["after"]
        covered = [s["id"] for s in steps if s["id"] == after or s["id"].startswith(after + ".")]
        gates.append({"after": after, "steps": covered})
    return {"budget": dict(policy.get("budget") or {}), "gates": gates}


def models_today(version: WorkflowVersion, catalogue: Catalogue) -> dict[str, str | None]:
    """step id → the snapshot each model step of a version resolves to today."""
    expander = _Expander(catalogue, Overrides(), fresh_seeds=True)
    plan: dict[str, str | None] = {}
    original = expander._step

    def capture(
        step: dict[str, Any], full_id: str, bindings: dict[str, Binding], scope: dict[str, Binding]
    ) -> dict[str, Any]:
        if STEP_KINDS[step["kind"]].takes_model:
            plan[full_id] = expander.today(step["model"])
        return original(step, full_id, bindings, scope)

    expander._step = capture  # type: ignore[method-assign]
    expander.expand(version.definition, "", {})
    return plan


def drift_warnings_for(
    recorded_models: Mapping[str, str], version: WorkflowVersion, catalogue: Catalogue
) -> list[dict[str, str]]:
    """Warnings for every step whose recorded snapshot differs from today's resolution."""
    today = models_today(version, catalogue)
    found = []
    for step_id, recorded in recorded_models.items():
        warning = drift_warning(step_id, recorded, today.get(step_id), catalogue)
        if warning:
            found.append(warning)
    return found
