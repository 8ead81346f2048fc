"""The shape of a workflow definition: step kinds, their typed parameters and
the `{{…}}` reference syntax. Shared by the publish gate, bump classification
and (later) the run resolver, so the rules live in one place."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

INPUT_TYPES = ("string", "image", "integer", "number", "boolean")
TOP_LEVEL_KEYS = ("inputs", "steps", "outputs", "policy")
STEP_ID = re.compile(r"^[a-z][a-z0-9_-]{0,62}$", re.IGNORECASE)
INPUT_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$", re.IGNORECASE)
REFERENCE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
INPUT_REF = re.compile(r"^inputs\.([A-Za-z_][A-Za-z0-9_]*)$")
STEP_REF = re.compile(r"^steps\.([A-Za-z][A-Za-z0-9_-]*)\.(output|outputs\.([A-Za-z_][A-Za-z0-9_]*))$")


@dataclass(frozen=True)
class Param:
    type: str  # "string" | "text" | "integer" | "number" | "image" | "choice"
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    multiple_of: int | None = None
    shape: bool = False  # changes the output shape (size, format, frame count): a major bump

    def check(self, value: Any) -> str | None:
        """None when valid, else a human sentence saying what is wrong."""
        if self.type in ("string", "text"):
            return None if isinstance(value, str) else "must be text"
        if self.type == "image":
            if not isinstance(value, str) or not REFERENCE.fullmatch(value.strip()):
                return "must be a single reference such as {{inputs.reference}} or {{steps.background.output}}"
            return None
        if self.type == "choice":
            return None if value in self.choices else f"must be one of {', '.join(map(str, self.choices))}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "must be a number"
        if self.type == "integer" and not (isinstance(value, int) or float(value).is_integer()):
            return "must be a whole number"
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum:g}"
        if self.maximum is not None and value > self.maximum:
            return f"must be at most {self.maximum:g}"
        if self.multiple_of and int(value) % self.multiple_of:
            return f"must be a multiple of {self.multiple_of}"
        return None


_SIZE = {"minimum": 64, "maximum": 2048, "multiple_of": 8, "shape": True}
_SCHEDULERS = ("euler", "euler_a", "ddim", "dpmpp_2m", "heun")
_COMMON = {
    "negative_prompt": Param("text", default=""),
    "guidance_scale": Param("number", default=7.5, minimum=0, maximum=30),
    "steps": Param("integer", default=30, minimum=1, maximum=150),
    "scheduler": Param("choice", default="euler", choices=_SCHEDULERS),
}


@dataclass(frozen=True)
class StepKind:
    name: str
    params: dict[str, Param]
    takes_model: bool = True
    takes_seed: bool = True
    output_media: str = "image"  # "image" | "animation"


STEP_KINDS: dict[str, StepKind] = {
    "generate_image": StepKind(
        "generate_image",
        {
            "prompt": Param("text", required=True),
            **_COMMON,
            "width": Param("integer", default=768, **_SIZE),  # type: ignore[arg-type]
            "height": Param("integer", default=512, **_SIZE),  # type: ignore[arg-type]
        },
    ),
    "img2img": StepKind(
        "img2img",
        {
            "image": Param("image", required=True),
            "prompt": Param("text", default=""),
            "strength": Param("number", default=0.5, minimum=0, maximum=1),
            **_COMMON,
        },
    ),
    "upscale": StepKind(
        "upscale",
        {
            "image": Param("image", required=True),
            "factor": Param("choice", default=2, choices=(2, 3, 4), shape=True),
            "sharpness": Param("number", default=0.5, minimum=0, maximum=1),
        },
        takes_seed=False,
    ),
    "animate": StepKind(
        "animate",
        {
            "prompt": Param("text", required=True),
            "image": Param("image"),
            "frames": Param("integer", default=12, minimum=2, maximum=96, shape=True),
            "fps": Param("integer", default=12, minimum=1, maximum=60),
            "format": Param("choice", default="webp", choices=("webp", "gif"), shape=True),
            "motion": Param("number", default=0.5, minimum=0, maximum=1),
            "width": Param("integer", default=256, **{**_SIZE, "maximum": 1024}),  # type: ignore[arg-type]
            "height": Param("integer", default=256, **{**_SIZE, "maximum": 1024}),  # type: ignore[arg-type]
            **_COMMON,
        },
        output_media="animation",
    ),
    "subworkflow": StepKind("subworkflow", {}, takes_model=False, takes_seed=False),
    # A ComfyUI graph (DESIGN §8): its fields are `graph`, `bindings` and `output_node`, not params;
    # it takes a seed when a binding asks for one ("$seed").
    "comfyui": StepKind("comfyui", {}),
}

# --- ComfyUI steps (DESIGN §8) -------------------------------------------------------------------
COMFYUI_KEYS = ("graph", "bindings", "output_node")
COMFYUI_NODE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_:-]{0,63}$")
# A node id must not look like an image binding ({"artifact": …} / {"step": …}) in a frozen step.
COMFYUI_RESERVED_IDS = frozenset({"artifact", "step"})
COMFYUI_BINDING = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_:-]{0,63})\.([A-Za-z_][A-Za-z0-9_.]{0,127})$")
SEED_BINDING = "$seed"
MAX_COMFYUI_NODES = 500


def comfyui_link(value: Any) -> tuple[str, int] | None:
    """An input value that links to another node's output: `[node id, output index]` (API format)."""
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    ):
        return value[0], value[1]
    return None


def comfyui_seeded(step: dict[str, Any]) -> bool:
    """Whether a comfyui step binds the step's seed somewhere."""
    bindings = step.get("bindings")
    return isinstance(bindings, dict) and any(v == SEED_BINDING for v in bindings.values())


def _graph_of(step: dict[str, Any]) -> dict[str, Any]:
    graph = step.get("graph")
    return graph if isinstance(graph, dict) else {}


def _inputs_of(node: Any) -> dict[str, Any]:
    inputs = node.get("inputs") if isinstance(node, dict) else None
    return inputs if isinstance(inputs, dict) else {}


def comfyui_structure(step: dict[str, Any]) -> tuple[Any, ...]:
    """What a change of makes a major bump: the nodes and their classes, every link and the output
    node. Literal inputs and bindings are left out (a change of those is minor)."""
    graph = _graph_of(step)
    nodes = []
    for node_id, node in sorted(graph.items()):
        inputs = _inputs_of(node)
        links = tuple(sorted((name, *link) for name, value in inputs.items() if (link := comfyui_link(value))))
        nodes.append((node_id, node.get("class_type") if isinstance(node, dict) else None, links))
    return tuple(nodes), step.get("output_node")


def comfyui_literals(step: dict[str, Any]) -> dict[str, Any]:
    """`<node>.<input>` → literal value of every input that is not a link (a change is minor)."""
    graph = _graph_of(step)
    found = {}
    for node_id, node in graph.items():
        inputs = _inputs_of(node)
        for name, value in inputs.items():
            if comfyui_link(value) is None:
                found[f"{node_id}.{name}"] = value
    return found


@dataclass(frozen=True)
class Reference:
    """A parsed `{{…}}` reference."""

    raw: str
    input: str | None = None
    step: str | None = None
    output: str | None = None  # the named output of a sub-workflow step, None for `.output`

    @classmethod
    def parse(cls, expression: str) -> Reference | None:
        if m := INPUT_REF.match(expression):
            return cls(expression, input=m.group(1))
        if m := STEP_REF.match(expression):
            return cls(expression, step=m.group(1), output=m.group(3))
        return None


def references_in(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every `{{…}}` expression inside a JSON value, with the JSON path it sits at."""
    if isinstance(value, str):
        for m in REFERENCE.finditer(value):
            yield path, m.group(1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from references_in(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from references_in(item, f"{path}[{i}]")


def split_model(ref: str) -> tuple[str, str | None]:
    """`local/plasma@2026-04-21` → ("local/plasma", "2026-04-21"); floating → (family, None)."""
    family, _, snapshot = ref.partition("@")
    return family, snapshot or None


@dataclass
class Contract:
    """The externally visible contract of a definition: typed inputs and outputs."""

    inputs: dict[str, tuple[str, bool]] = field(default_factory=dict)  # name → (type, required)
    outputs: dict[str, str] = field(default_factory=dict)  # name → media


def contract_of(definition: dict[str, Any], sub_outputs: dict[str, dict[str, str]] | None = None) -> Contract:
    """The contract of a (structurally valid) definition. Output media follow the step that makes them."""
    contract = Contract()
    for name, spec in (definition.get("inputs") or {}).items():
        if isinstance(spec, dict):
            contract.inputs[name] = (str(spec.get("type")), bool(spec.get("required", False)))
    kinds = {s.get("id"): s for s in definition.get("steps") or [] if isinstance(s, dict)}
    for name, expr in (definition.get("outputs") or {}).items():
        media = "unknown"
        for _path, raw in references_in(expr, ""):
            ref = Reference.parse(raw)
            step = kinds.get(ref.step) if ref and ref.step else None
            if step is None:
                continue
            kind = STEP_KINDS.get(str(step.get("kind")))
            if kind and step.get("kind") != "subworkflow":
                media = kind.output_media
            elif sub_outputs is not None and ref is not None and ref.output:
                media = sub_outputs.get(str(step.get("id")), {}).get(ref.output, "image")
            else:
                media = "image"
        contract.outputs[name] = media
    return contract


MAX_TEXT_INPUT = 4000


def input_value_error(typ: str, value: Any) -> str | None:
    """None when `value` fits an input of type `typ`, else what is wrong (image existence is checked elsewhere)."""
    if typ == "string":
        if not isinstance(value, str):
            return "must be text"
        return f"must be at most {MAX_TEXT_INPUT} characters" if len(value) > MAX_TEXT_INPUT else None
    if typ == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if typ == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 2**53
        return None if ok else "must be a whole number"
    if typ == "number":
        ok = (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and abs(value) < 1e15
        )
        return None if ok else "must be a number"
    if typ == "image":
        ok = isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) is not None
        return None if ok else "must be the sha256 of an image uploaded with POST /api/artifacts/"
    return f"has an unsupported type {typ}"
