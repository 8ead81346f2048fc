"""The publish gate (DESIGN §3): every problem of a definition, listed at once.

A draft may hold anything; publishing runs this check and refuses the draft
when any problem is found. What cannot be published cannot be run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.errors import Problem
from templates_app import comfyui
from templates_app.catalogue import Catalogue
from templates_app.definition import (
    COMFYUI_BINDING,
    COMFYUI_NODE_ID,
    COMFYUI_RESERVED_IDS,
    INPUT_NAME,
    INPUT_TYPES,
    MAX_COMFYUI_NODES,
    REFERENCE,
    SEED_BINDING,
    STEP_ID,
    STEP_KINDS,
    TOP_LEVEL_KEYS,
    Contract,
    Param,
    Reference,
    comfyui_link,
    contract_of,
    input_value_error,
    references_in,
)
from templates_app.limits import (
    SubworkflowWalk,
    budget_of,
    definition_pixel_problems,
    resolve_subworkflow,
    shape_problems,
    step_count_problems,
)
from templates_app.models import Workflow, WorkflowVersion

__all__ = ["check_definition", "contract_problems", "leads_to", "resolve_subworkflow"]

STEP_KEYS = {"id", "kind", "model", "params", "policy"}
SUBWORKFLOW_KEYS = {"id", "kind", "workflow", "version", "inputs", "policy"}
COMFYUI_STEP_KEYS = {"id", "kind", "model", "graph", "bindings", "output_node", "policy"}
COMFYUI_NODE_KEYS = {"class_type", "inputs", "_meta"}
POLICY_KEYS = {"budget", "gates"}
BUDGET_KEYS = {"max_steps", "max_seconds"}
STEP_POLICY_KEYS = {"retries", "timeout_seconds"}


@dataclass
class _Step:
    index: int
    id: str
    kind: str
    sub_version: WorkflowVersion | None = None
    sub_contract: Contract | None = None


@dataclass
class GateResult:
    problems: list[Problem]
    contract: Contract | None = None
    sub_versions: dict[str, WorkflowVersion] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)  # worth saying, no reason to refuse

    @property
    def valid(self) -> bool:
        return not self.problems


def leads_to(version: WorkflowVersion, targets: set[str]) -> bool:
    """Whether a version leads, through the sub-workflows it runs, to any of the target slugs (or a cycle)."""
    return SubworkflowWalk().leads_to(version, targets)


def check_definition(definition: Any, *, workflow: Workflow, catalogue: Catalogue | None = None) -> GateResult:
    """All structural problems of a definition (not yet compared with the canonical version)."""
    return _Checker(workflow, catalogue or Catalogue.load()).run(definition)


class _Checker:
    def __init__(self, workflow: Workflow, catalogue: Catalogue) -> None:
        self.workflow = workflow
        self.catalogue = catalogue
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.inputs: dict[str, str] = {}
        self.steps: dict[str, _Step] = {}
        self.sub_versions: dict[str, WorkflowVersion] = {}
        self.walk = SubworkflowWalk()  # sub-workflows resolved and walked once per version (issue 11)

    def add(self, code: str, path: str, message: str) -> None:
        self.problems.append(Problem(code, path, message))

    def run(self, definition: Any) -> GateResult:
        if not isinstance(definition, dict):
            self.add("invalid_definition", "", "A definition must be a JSON object with inputs, steps and outputs.")
            return GateResult(self.problems)
        if shape := shape_problems(definition):  # bounds first: a deep document would exhaust the checks below
            return GateResult(shape)
        for key in definition:
            if key not in TOP_LEVEL_KEYS:
                self.add(
                    "unknown_field", key, f"Unknown top-level field '{key}'; expected {', '.join(TOP_LEVEL_KEYS)}."
                )
        self._check_numbers(definition, "")
        self._check_inputs(definition.get("inputs", {}))
        steps = definition.get("steps")
        if not isinstance(steps, list) or not steps:
            self.add("empty_pipeline", "steps", "The pipeline needs at least one step.")
            steps = []
        self._index_steps(steps)
        for index, step in enumerate(steps):
            if isinstance(step, dict):
                self._check_step(index, step)
        self._check_outputs(definition.get("outputs"), len(steps))
        self._check_policy(definition.get("policy"), steps)
        # Bounded work (issue 11): steps counted with sub-workflows expanded, pixels per step.
        self.problems += step_count_problems(definition, self.walk, budget=budget_of(definition))
        self.problems += definition_pixel_problems(definition)
        contract = None
        if not self.problems:
            sub_outputs = {sid: s.sub_contract.outputs for sid, s in self.steps.items() if s.sub_contract}
            contract = contract_of(definition, sub_outputs)
        return GateResult(self.problems, contract, self.sub_versions, self.warnings)

    # -- pieces --------------------------------------------------------------

    def _check_numbers(self, value: Any, path: str) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            self.add("invalid_number", path, "NaN and Infinity are not JSON numbers.")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
            self.add("invalid_number", path, "Integers beyond ±2^53 cannot be carried exactly in JSON.")
        elif isinstance(value, dict):
            for key, item in value.items():
                self._check_numbers(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self._check_numbers(item, f"{path}[{i}]")

    def _check_inputs(self, inputs: Any) -> None:
        if not isinstance(inputs, dict):
            self.add("invalid_input", "inputs", "inputs must be an object of name → {type, required}.")
            return
        for name, spec in inputs.items():
            path = f"inputs.{name}"
            if not INPUT_NAME.match(name):
                self.add("invalid_input", path, f"'{name}' is not a valid input name (letters, digits, underscore).")
                continue
            if not isinstance(spec, dict) or spec.get("type") not in INPUT_TYPES:
                self.add("invalid_input", f"{path}.type", f"Input type must be one of {', '.join(INPUT_TYPES)}.")
                continue
            extra = set(spec) - {"type", "required", "default", "description"}
            if extra:
                self.add("unknown_field", path, f"Unknown input field(s): {', '.join(sorted(extra))}.")
            if not isinstance(spec.get("required", False), bool):
                self.add("invalid_input", f"{path}.required", "required must be true or false.")
            if "default" in spec:
                if spec["type"] == "image":
                    self.add(
                        "invalid_input",
                        f"{path}.default",
                        "Image inputs take no default: the image is given at run time.",
                    )
                elif error := input_value_error(spec["type"], spec["default"]):
                    self.add("invalid_input", f"{path}.default", f"The default {error}.")
            self.inputs[name] = spec["type"]

    def _index_steps(self, steps: list[Any]) -> None:
        for index, step in enumerate(steps):
            path = f"steps[{index}]"
            if not isinstance(step, dict):
                self.add("invalid_step", path, "Each step must be an object with id, kind and params.")
                continue
            sid, kind = step.get("id"), step.get("kind")
            if not isinstance(sid, str) or not STEP_ID.match(sid):
                self.add(
                    "invalid_step_id", f"{path}.id", "Each step needs an id: a letter, then letters, digits, - or _."
                )
                continue
            if sid in self.steps:
                self.add(
                    "duplicate_step_id",
                    f"{path}.id",
                    f"Step id '{sid}' is already used by step {self.steps[sid].index + 1}.",
                )
                continue
            if kind not in STEP_KINDS:
                self.add(
                    "unknown_step_kind",
                    f"{path}.kind",
                    f"Unknown step kind {kind!r}; expected one of {', '.join(STEP_KINDS)}.",
                )
            self.steps[sid] = _Step(index, sid, str(kind))

    def _check_step(self, index: int, step: dict[str, Any]) -> None:
        path = f"steps[{index}]"
        kind = STEP_KINDS.get(step.get("kind"))  # type: ignore[arg-type]
        if kind is None:
            return
        allowed = {"subworkflow": SUBWORKFLOW_KEYS, "comfyui": COMFYUI_STEP_KEYS}.get(kind.name, STEP_KEYS)
        for key in step:
            if key not in allowed:
                self.add("unknown_field", f"{path}.{key}", f"'{key}' is not a field of a {kind.name} step.")
        if kind.takes_model:
            self._check_model(step.get("model"), f"{path}.model")
            self._check_provider(kind.name, step.get("model"), f"{path}.model")
        if kind.name == "subworkflow":
            self._check_subworkflow(index, step, path)
        elif kind.name == "comfyui":
            self._check_comfyui(index, step, path)
        else:
            self._check_params(index, step.get("params"), kind.params, f"{path}.params")
        self._check_step_policy(step.get("policy"), f"{path}.policy")

    def _check_model(self, model: Any, path: str) -> None:
        if not isinstance(model, str) or not model:
            self.add("missing_model", path, "This step needs a model, e.g. local/plasma or local/plasma@2026-04-21.")
            return
        family, _, snapshot = model.partition("@")
        info = self.catalogue.families.get(family)
        if info is None:
            known = ", ".join(sorted(self.catalogue.families)) or "none"
            self.add("unknown_model", path, f"Model family '{family}' is not in the catalogue (known: {known}).")
        elif snapshot and snapshot not in info.snapshots:
            self.add("unknown_model", path, f"'{family}' has no snapshot '{snapshot}'.")
        elif snapshot and info.snapshots[snapshot] != "available":
            self.add(
                "retired_model", path, f"Snapshot {model} is retired; pin an available snapshot or float on '{family}'."
            )
        elif not snapshot and info.default is None:
            self.add("retired_model", path, f"'{family}' has no available snapshot to resolve to.")

    def _check_provider(self, kind: str, model: Any, path: str) -> None:
        """A ComfyUI graph runs on a ComfyUI pool, and a ComfyUI pool runs nothing but graphs."""
        info = self.catalogue.families.get(model.partition("@")[0]) if isinstance(model, str) else None
        if info is None:
            return
        if kind == "comfyui" and info.provider != comfyui.PROVIDER:
            self.add(
                "invalid_parameter", path, f"A comfyui step runs on a ComfyUI pool (comfyui/<pool>), not {info.name}."
            )
        elif kind != "comfyui" and info.provider == comfyui.PROVIDER:
            self.add("invalid_parameter", path, f"{info.name} is a ComfyUI pool: it runs comfyui steps only.")

    def _check_comfyui(self, index: int, step: dict[str, Any], path: str) -> None:
        """The graph's shape, every link, the output node, every binding's target and value, `$seed`
        only on a seeded family, and the node classes against the pool's servers where one answers."""
        graph = step.get("graph")
        if not isinstance(graph, dict) or not graph:
            self.add(
                "invalid_graph",
                f"{path}.graph",
                "graph must be a ComfyUI graph in API format (Export (API)): node id → {class_type, inputs}.",
            )
            return
        if len(graph) > MAX_COMFYUI_NODES:
            self.add("invalid_graph", f"{path}.graph", f"A graph may have at most {MAX_COMFYUI_NODES} nodes.")
            return
        classes: dict[str, str] = {}
        for node_id, node in graph.items():
            npath = f"{path}.graph.{node_id}"
            if not COMFYUI_NODE_ID.match(node_id) or node_id in COMFYUI_RESERVED_IDS:
                self.add("invalid_graph", npath, f"'{node_id}' is not a node id (letters, digits, _ : -).")
                continue
            if not isinstance(node, dict) or not isinstance(node.get("class_type"), str) or not node["class_type"]:
                self.add("invalid_graph", npath, f"Node {node_id} needs a class_type and inputs.")
                continue
            for key in node:
                if key not in COMFYUI_NODE_KEYS:
                    self.add("unknown_field", f"{npath}.{key}", f"'{key}' is not a field of a ComfyUI node.")
            if not isinstance(node.get("inputs", {}), dict):
                self.add("invalid_graph", f"{npath}.inputs", f"The inputs of node {node_id} must be an object.")
                continue
            classes[node_id] = node["class_type"]
        for node_id in classes:
            for name, value in (graph[node_id].get("inputs") or {}).items():
                ipath = f"{path}.graph.{node_id}.inputs.{name}"
                link = comfyui_link(value)
                if link is None:
                    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], (str, int)):
                        self.add("broken_link", ipath, 'A link is [node id as text, output index ≥ 0], e.g. ["4", 0].')
                    continue
                if link[0] not in graph:
                    self.add(
                        "broken_link",
                        ipath,
                        f"Node {node_id}'s input '{name}' links to node {link[0]}, which is not in the graph.",
                    )
                elif link[1] < 0:
                    self.add("broken_link", ipath, f"Node {node_id}'s input '{name}' links to output {link[1]}.")
        if cycle := _cycle_in(graph, classes):
            self.add("invalid_graph", f"{path}.graph", f"The graph has a cycle through node {cycle}.")
        output = step.get("output_node")
        if not isinstance(output, str) or output not in classes:
            self.add(
                "unknown_output_node",
                f"{path}.output_node",
                "output_node must name a node of the graph whose images are the step's output, e.g. the SaveImage node.",
            )
        self._check_bindings(index, step, graph, classes, path)
        self._check_node_classes(step.get("model"), classes, path)

    def _check_bindings(
        self, index: int, step: dict[str, Any], graph: dict[str, Any], classes: dict[str, str], path: str
    ) -> None:
        bindings = step.get("bindings", {})
        if not isinstance(bindings, dict):
            self.add("invalid_binding", f"{path}.bindings", 'bindings must be an object of "<node>.<input>" → value.')
            return
        for target, value in bindings.items():
            bpath = f"{path}.bindings.{target}"
            m = COMFYUI_BINDING.match(target)
            if m is None or m.group(1) not in graph:
                self.add("invalid_binding", bpath, f"'{target}' does not name a node of the graph as <node>.<input>.")
                continue
            node_id, name = m.groups()
            inputs = graph[node_id].get("inputs") if node_id in classes else None
            if not isinstance(inputs, dict) or name not in inputs:
                self.add(
                    "invalid_binding", bpath, f"Node {node_id} ({classes.get(node_id, '?')}) has no input '{name}'."
                )
                continue
            if comfyui_link(inputs[name]) is not None:
                self.add(
                    "invalid_binding", bpath, f"Input '{name}' of node {node_id} is a link; a binding would cut it."
                )
                continue
            if value == SEED_BINDING:
                family = str(step.get("model") or "").partition("@")[0]
                info = self.catalogue.families.get(family)
                if info is not None and not info.takes_seed:
                    self.add("invalid_binding", bpath, f"{family} takes no seed: $seed cannot be bound.")
                continue
            refs = list(references_in(value, bpath)) if isinstance(value, str) else []
            if not refs:
                self.add(
                    "invalid_binding",
                    bpath,
                    'A binding is "$seed" or text with references such as {{inputs.subject}} or {{steps.x.output}}; '
                    "a fixed value belongs in the graph.",
                )
                continue
            whole = REFERENCE.fullmatch(value.strip())
            for ref_path, expression in refs:
                ref = self._check_reference(index, expression, ref_path)
                image = ref is not None and (
                    (ref.input is not None and self.inputs.get(ref.input) == "image") or ref.step is not None
                )
                if image and not whole:
                    self.add("invalid_binding", bpath, "An image must be the whole binding, e.g. {{inputs.reference}}.")

    def _check_node_classes(self, model: Any, classes: dict[str, str], path: str) -> None:
        pool = comfyui.pool_of(model.partition("@")[0]) if isinstance(model, str) else None
        if pool is None or not classes:
            return
        known, why = comfyui.node_classes(pool)
        if known is None:
            self.warnings.append(
                Problem(
                    "pool_unreachable",
                    f"{path}.model",
                    f"The node classes were not checked: {why}. They are checked when the step runs.",
                )
            )
            return
        for node_id, class_type in classes.items():
            if class_type not in known:
                self.add(
                    "unknown_node_class",
                    f"{path}.graph.{node_id}.class_type",
                    f"No server of pool '{pool}' has the node class '{class_type}' (a custom node not installed?).",
                )

    def _check_params(self, index: int, params: Any, schema: dict[str, Param], path: str) -> None:
        if params is None:
            params = {}
        if not isinstance(params, dict):
            self.add("invalid_parameter", path, "params must be an object.")
            return
        for name in params:
            if name not in schema:
                self.add(
                    "unknown_parameter", f"{path}.{name}", f"Unknown parameter '{name}'; expected {', '.join(schema)}."
                )
        for name, param in schema.items():
            if name not in params:
                if param.required:
                    self.add("missing_parameter", f"{path}.{name}", f"Parameter '{name}' is required.")
                continue
            self._check_value(index, params[name], param, f"{path}.{name}")

    def _check_value(self, index: int, value: Any, param: Param, path: str) -> None:
        refs = list(references_in(value, path))
        for ref_path, expression in refs:
            self._check_reference(index, expression, ref_path, expect_image=param.type == "image")
        if param.type not in ("image", "string", "text") and isinstance(value, str) and refs:
            # A number or choice may be bound to an input of a matching type.
            ref = Reference.parse(refs[0][1])
            if len(refs) != 1 or not REFERENCE.fullmatch(value.strip()) or not ref or not ref.input:
                self.add("invalid_parameter", path, "Only a single {{inputs.name}} reference can stand for this value.")
            elif self.inputs.get(ref.input) not in {"integer": ("integer",), "number": ("integer", "number")}.get(
                param.type, ("string", "integer", "number")
            ):
                self.add("invalid_parameter", path, f"Input '{ref.input}' has the wrong type for this parameter.")
            return
        if error := param.check(value):
            self.add("invalid_parameter", path, f"{path.rsplit('.', 1)[-1]} {error}.")

    def _check_reference(
        self, index: int, expression: str, path: str, *, expect_image: bool = False
    ) -> Reference | None:
        ref = Reference.parse(expression)
        if ref is None:
            self.add(
                "unresolved_reference",
                path,
                f"'{{{{{expression}}}}}' is not a reference; use inputs.<name> or steps.<id>.output.",
            )
            return None
        if ref.input is not None:
            if ref.input not in self.inputs:
                self.add("unresolved_reference", path, f"There is no input '{ref.input}'.")
            elif expect_image and self.inputs[ref.input] != "image":
                self.add("invalid_parameter", path, f"Input '{ref.input}' is a {self.inputs[ref.input]}, not an image.")
            return ref
        target = self.steps.get(ref.step or "")
        if target is None:
            self.add("unresolved_reference", path, f"There is no step '{ref.step}'.")
        elif target.index >= index:
            where = "itself" if target.index == index else "a later step"
            self.add("forward_reference", path, f"Step '{ref.step}' is {where}; a step can only use earlier steps.")
        elif target.kind == "subworkflow":
            if ref.output is None:
                self.add(
                    "unresolved_reference",
                    path,
                    f"'{ref.step}' is a sub-workflow: name one of its outputs, steps.{ref.step}.outputs.<name>.",
                )
            elif target.sub_contract and ref.output not in target.sub_contract.outputs:
                names = ", ".join(target.sub_contract.outputs) or "none"
                self.add(
                    "unresolved_reference",
                    path,
                    f"Sub-workflow step '{ref.step}' has no output '{ref.output}' (has: {names}).",
                )
        elif ref.output is not None:
            self.add(
                "unresolved_reference", path, f"Step '{ref.step}' has a single output: use steps.{ref.step}.output."
            )
        return ref

    def _check_subworkflow(self, index: int, step: dict[str, Any], path: str) -> None:
        slug, version = step.get("workflow"), step.get("version")
        if not isinstance(slug, str) or not slug:
            self.add("missing_subworkflow", f"{path}.workflow", "A subworkflow step names the workflow it runs.")
            return
        if version is not None and not isinstance(version, str):
            self.add("invalid_parameter", f"{path}.version", "version must be a version string such as 2026.06.10.")
            return
        target = self.walk.resolve(slug, version)
        if target is None:
            what = f"version {version} of '{slug}'" if version else f"a published version of '{slug}'"
            self.add("missing_subworkflow", f"{path}.workflow", f"There is no {what}.")
            return
        if slug == self.workflow.slug or self.walk.leads_to(target, {self.workflow.slug}):
            self.add(
                "subworkflow_cycle", f"{path}.workflow", f"Sub-workflow '{slug}' leads back to '{self.workflow.slug}'."
            )
            return
        sub_contract = contract_of(target.definition)
        self.steps[step["id"]].sub_version = target
        self.steps[step["id"]].sub_contract = sub_contract
        self.sub_versions[step["id"]] = target
        given = step.get("inputs") or {}
        if not isinstance(given, dict):
            self.add("invalid_parameter", f"{path}.inputs", "inputs must be an object of the sub-workflow's inputs.")
            return
        for name, value in given.items():
            if name not in sub_contract.inputs:
                self.add("unknown_parameter", f"{path}.inputs.{name}", f"'{slug}' has no input '{name}'.")
                continue
            typ = sub_contract.inputs[name][0]
            refs = list(references_in(value, f"{path}.inputs.{name}"))
            for ref_path, expression in refs:
                self._check_reference(index, expression, ref_path, expect_image=typ == "image")
            if typ == "image" and (len(refs) != 1 or not REFERENCE.fullmatch(str(value).strip())):
                self.add(
                    "invalid_parameter",
                    f"{path}.inputs.{name}",
                    f"'{name}' is an image: pass a single reference to one.",
                )
            elif not refs and (error := input_value_error(typ, value)):
                self.add("invalid_parameter", f"{path}.inputs.{name}", f"'{name}' {error}.")
        for name, (_type, required) in sub_contract.inputs.items():
            if required and name not in given:
                self.add("missing_parameter", f"{path}.inputs.{name}", f"'{slug}' requires input '{name}'.")

    def _check_step_policy(self, policy: Any, path: str) -> None:
        if policy is None:
            return
        if not isinstance(policy, dict):
            self.add("invalid_policy", path, "A step policy is an object with retries and timeout_seconds.")
            return
        for key, value in policy.items():
            if key not in STEP_POLICY_KEYS:
                self.add("unknown_field", f"{path}.{key}", f"Unknown step policy '{key}'.")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                self.add("invalid_policy", f"{path}.{key}", f"{key} must be a whole number ≥ 0.")

    def _check_outputs(self, outputs: Any, step_count: int) -> None:
        if not isinstance(outputs, dict) or not outputs:
            self.add(
                "missing_outputs", "outputs", 'Name at least one output, e.g. {"hero": "{{steps.background.output}}"}.'
            )
            return
        for name, expr in outputs.items():
            path = f"outputs.{name}"
            refs = list(references_in(expr, path))
            if not isinstance(expr, str) or len(refs) != 1 or not REFERENCE.fullmatch(expr.strip()):
                self.add("output_references_nothing", path, "An output must be a single reference to a step's output.")
                continue
            ref = self._check_reference(step_count, refs[0][1], path)
            if ref is not None and ref.input is not None:
                self.add(
                    "output_references_nothing", path, "An output must come from a step, not straight from an input."
                )

    def _check_policy(self, policy: Any, steps: list[Any]) -> None:
        if policy is None:
            return
        if not isinstance(policy, dict):
            self.add("invalid_policy", "policy", "policy must be an object with budget and gates.")
            return
        for key in policy:
            if key not in POLICY_KEYS:
                self.add("unknown_field", f"policy.{key}", f"Unknown policy field '{key}'.")
        budget = policy.get("budget", {})
        if not isinstance(budget, dict):
            self.add("invalid_policy", "policy.budget", "budget must be an object.")
        else:
            for key, value in budget.items():
                if key not in BUDGET_KEYS:
                    self.add("unknown_field", f"policy.budget.{key}", f"Unknown budget field '{key}'.")
                elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    self.add("invalid_policy", f"policy.budget.{key}", f"{key} must be a whole number ≥ 1.")
            # max_steps is compared with the expanded step count in run() (templates_app.limits).
        gates = policy.get("gates", [])
        if not isinstance(gates, list):
            self.add("invalid_policy", "policy.gates", "gates must be a list.")
            return
        for i, gate in enumerate(gates):
            gpath = f"policy.gates[{i}]"
            if not isinstance(gate, dict) or not isinstance(gate.get("after"), str):
                self.add(
                    "invalid_policy", gpath, 'A gate is an object naming the step it follows: {"after": "<step id>"}.'
                )
            elif gate["after"] not in self.steps:
                self.add("unresolved_reference", f"{gpath}.after", f"There is no step '{gate['after']}'.")


def _cycle_in(graph: dict[str, Any], classes: dict[str, str]) -> str | None:
    """A node on a cycle of links, or None (ComfyUI refuses such a graph too)."""
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done

    def links(node_id: str) -> list[str]:
        inputs = graph[node_id].get("inputs") or {}
        return [link[0] for v in inputs.values() if (link := comfyui_link(v)) and link[0] in classes]

    for start in classes:
        if state.get(start):
            continue
        stack = [(start, iter(links(start)))]
        state[start] = 1
        while stack:
            node_id, pending = stack[-1]
            nxt = next(pending, None)
            if nxt is None:
                state[node_id] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return nxt
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(links(nxt))))
    return None


def contract_problems(old: Contract, new: Contract) -> list[Problem]:
    """Incompatible contract changes against the canonical version: a new job, so a sibling.
    Each message says what changed, what would break and the two ways out."""
    problems = []
    sibling = "spawn a sibling workflow from this draft, which gives the new contract a workflow of its own"
    for name, (typ, required) in old.inputs.items():
        if name not in new.inputs:
            problems.append(
                Problem(
                    "contract_changed",
                    f"inputs.{name}",
                    f"Input '{name}' was removed or renamed, so runs that pass it would no longer start. "
                    f"Put it back, or {sibling}.",
                )
            )
        elif new.inputs[name][0] != typ:
            problems.append(
                Problem(
                    "contract_changed",
                    f"inputs.{name}.type",
                    f"Input '{name}' changed type from {typ} to {new.inputs[name][0]}, so the values callers "
                    f"send today would no longer fit. Keep it {typ}, or {sibling}.",
                )
            )
        elif new.inputs[name][1] and not required:
            problems.append(
                Problem(
                    "contract_changed",
                    f"inputs.{name}.required",
                    f"Input '{name}' became required, so runs that leave it out would no longer start. "
                    f"Keep it optional, or {sibling}.",
                )
            )
    for name, (_typ, required) in new.inputs.items():
        if name not in old.inputs and required:
            problems.append(
                Problem(
                    "contract_changed",
                    f"inputs.{name}",
                    f"New input '{name}' is required, so runs started the way they are today would no longer "
                    f"start. Make '{name}' optional, or {sibling}.",
                )
            )
    for name, media in old.outputs.items():
        if name not in new.outputs:
            problems.append(
                Problem(
                    "contract_changed",
                    f"outputs.{name}",
                    f"Output '{name}' was removed or renamed, so callers that read it would find nothing. "
                    f"Put it back, or {sibling}.",
                )
            )
        elif new.outputs[name] != media:
            problems.append(
                Problem(
                    "contract_changed",
                    f"outputs.{name}",
                    f"Output '{name}' changed from {media} to {new.outputs[name]}, so callers expecting "
                    f"{media} would get something else. Keep it {media}, or {sibling}.",
                )
            )
    return problems
