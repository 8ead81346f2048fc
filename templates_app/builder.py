"""The draft editor's form view: a definition shown as form fields, and the posted form turned back into
a definition. Both directions live here so that a round trip (definition → form → definition) keeps what
the form does not edit (policies, sub-workflow steps, parameters bound to inputs) untouched."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from core.errors import Problem
from templates_app.catalogue import Catalogue
from templates_app.definition import INPUT_TYPES, REFERENCE, STEP_KINDS, Param, StepKind
from templates_app.models import SnapshotStatus

# One sentence per parameter, shown under its field (the bounds and default are added from the declaration).
PARAM_HELP = {
    "prompt": "What to make; {{inputs.name}} inserts an input's text.",
    "negative_prompt": "What to keep out of the image.",
    "guidance_scale": "How closely to follow the prompt; higher is more literal.",
    "steps": "Denoising steps; more is slower and finer.",
    "scheduler": "The sampler that walks the denoising steps.",
    "width": "Output width in pixels.",
    "height": "Output height in pixels.",
    "image": "The image this step starts from: an image input or an earlier step's output.",
    "strength": "How far to move away from the image: 0 keeps it, 1 ignores it.",
    "factor": "How many times larger.",
    "sharpness": "How much edge detail to add.",
    "frames": "Number of frames.",
    "fps": "Frames per second.",
    "format": "File format of the animation.",
    "motion": "How much moves between frames.",
}
_STEP_FIELDS = ("id", "kind", "model", "params")
_INPUT_FIELDS = ("type", "required", "default", "description")


@dataclass
class ParamField:
    name: str
    param: Param
    value: str  # as the field shows it; "" when the parameter is left out (its default applies)
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label) for choice and image
    errors: list[str] = field(default_factory=list)

    @property
    def help(self) -> str:
        return PARAM_HELP.get(self.name, "")

    @property
    def bounds(self) -> str:
        p = self.param
        parts = []
        if p.minimum is not None and p.maximum is not None:
            parts.append(f"{p.minimum:g} – {p.maximum:g}")
        if p.multiple_of:
            parts.append(f"multiple of {p.multiple_of}")
        return ", ".join(parts)

    @property
    def is_numeric(self) -> bool:
        return self.param.type in ("integer", "number") and not REFERENCE.search(self.value)

    @property
    def is_long_text(self) -> bool:
        return self.param.type == "text"

    @property
    def is_select(self) -> bool:
        return self.param.type in ("choice", "image")

    @property
    def step_attr(self) -> str:
        return "1" if self.param.type == "integer" else "any"


@dataclass
class StepCard:
    index: int
    id: str
    kind: str
    model: str
    extra: str  # JSON of the step's other fields (policy, a sub-workflow's workflow/version/inputs)
    params: list[ParamField]
    spec: StepKind | None
    errors: dict[str, list[str]] = field(default_factory=dict)  # "id" | "kind" | "model" | "step" → messages
    first: bool = False
    last: bool = False
    unknown_model: str = ""  # kept selectable, so saving the form does not drop it silently

    @property
    def takes_seed(self) -> bool:
        return bool(self.spec and self.spec.takes_seed)

    @property
    def takes_model(self) -> bool:
        return self.spec is None or self.spec.takes_model  # an unknown kind keeps its model field


@dataclass
class InputRow:
    index: int
    name: str
    type: str
    required: bool
    default: str
    description: str
    errors: list[str] = field(default_factory=list)
    keys: str = ""  # the fields the input had ("required,default"), so an explicit false or "" is kept


@dataclass
class OutputRow:
    index: int
    name: str
    source: str  # the reference, e.g. {{steps.styled.output}}
    errors: list[str] = field(default_factory=list)


@dataclass
class Builder:
    inputs: list[InputRow]
    steps: list[StepCard]
    outputs: list[OutputRow]
    policy: str
    kinds: list[str]
    input_types: tuple[str, ...]
    models: list[tuple[str, str]]
    output_sources: list[tuple[str, str]]
    general_errors: list[str] = field(default_factory=list)  # problems not tied to one field

    def problem_slots(self) -> list[tuple[str, str, list[str]]]:
        """Every field's problem slot as (element id suffix, test id suffix, messages), as _builder.html names
        them: the form view's live validation re-renders all of them, so a fixed field's message goes away."""
        slots = []
        for row in self.inputs:
            slots.append((f"input-{row.index}", f"input-{row.name}", row.errors))
        for step in self.steps:
            slots.append((f"step-{step.index}-step", f"step-{step.index}", step.errors.get("step", [])))
            for k in ("id", "kind", "model"):
                slots.append((f"step-{step.index}-{k}", f"step-{step.index}-{k}", step.errors.get(k, [])))
            for f in step.params:
                slots.append((f"step-{step.index}-param-{f.name}", f"step-{step.index}-param-{f.name}", f.errors))
        for out in self.outputs:
            slots.append((f"output-{out.index}", f"output-{out.name}", out.errors))
        return slots


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def model_options(catalogue: Catalogue) -> list[tuple[str, str]]:
    """Every family (floating) and each of its snapshots (pinned), with the tier and retired ones marked."""
    options = []
    for name in sorted(catalogue.families):
        info = catalogue.families[name]
        notes = ("; takes no seed" if not info.seeded else "") + (
            "; unavailable on this server" if info.unavailable else ""
        )
        options.append((name, f"{name} — {info.tier}, latest ({info.default or 'none available'}){notes}"))
        for snap in sorted(info.snapshots, reverse=True):
            retired = info.snapshots[snap] != SnapshotStatus.AVAILABLE
            options.append((f"{name}@{snap}", f"{name}@{snap} — {info.tier}{' (retired)' if retired else ''}"))
    return options


def _errors_by_field(problems: list[Problem]) -> dict[str, list[str]]:
    """Gate problems keyed by form field: steps[1].params.strength → step-1-param-strength, inputs.x… → input-x.
    Each message is kept twice over: bare for its field, and under "where:<key>" with its path, for the
    list above the form when the form has no such field (an unknown parameter, a policy)."""
    found: dict[str, list[str]] = {}
    for p in problems:
        key = "general"
        path = p.path or ""
        if m := re.match(r"^steps\[(\d+)\](?:\.(params)\.([A-Za-z_][A-Za-z0-9_]*)|\.(id|kind|model))?", path):
            i = m.group(1)
            key = f"step-{i}-param-{m.group(3)}" if m.group(2) else f"step-{i}-{m.group(4) or 'step'}"
        elif m := re.match(r"^inputs\.([A-Za-z_][A-Za-z0-9_]*)", path):
            key = f"input-{m.group(1)}"
        elif m := re.match(r"^outputs\.([A-Za-z_][A-Za-z0-9_]*)", path):
            key = f"output-{m.group(1)}"
        found.setdefault(key, []).append(p.message)
        found.setdefault(f"where:{key}", []).append(f"{path or '(definition)'}: {p.message}")
    return found


def _unshown(errors: dict[str, list[str]]) -> list[str]:
    """The problems no field took (build pops the ones it shows), with their paths."""
    return [m for key, messages in errors.items() if key.startswith("where:") and key[6:] in errors for m in messages]


def build(definition: Any, catalogue: Catalogue, problems: list[Problem] | None = None) -> Builder:
    """The form view of a definition; anything it cannot show as a field is carried in hidden JSON."""
    d = definition if isinstance(definition, dict) else {}
    errors = _errors_by_field(problems or [])
    raw_inputs = d.get("inputs") if isinstance(d.get("inputs"), dict) else {}
    inputs = []
    for i, (name, spec) in enumerate(raw_inputs.items()):  # type: ignore[union-attr]
        spec = spec if isinstance(spec, dict) else {}
        inputs.append(
            InputRow(
                i,
                name,
                str(spec.get("type", "string")),
                bool(spec.get("required", False)),
                _shown(spec.get("default")),
                _shown(spec.get("description")),
                errors.pop(f"input-{name}", []),
                ",".join(k for k in ("required", "default") if k in spec),
            )
        )
    inputs.append(InputRow(len(inputs), "", "string", False, "", ""))  # a blank row adds an input
    image_inputs = [n for n, s in raw_inputs.items() if isinstance(s, dict) and s.get("type") == "image"]  # type: ignore[union-attr]
    raw_steps = [s for s in d.get("steps") or [] if isinstance(s, dict)] if isinstance(d.get("steps"), list) else []
    cards = []
    known_models = {value for value, _label in model_options(catalogue)}
    earlier: list[str] = []
    for i, step in enumerate(raw_steps):
        kind = str(step.get("kind", ""))
        spec = STEP_KINDS.get(kind)
        params = step.get("params") if isinstance(step.get("params"), dict) else {}
        fields = []
        for pname, param in spec.params.items() if spec else []:
            value = _shown(params.get(pname))  # type: ignore[union-attr]
            options: list[tuple[str, str]] = []
            if param.type == "choice":
                options = [(str(c), str(c)) for c in param.choices]
            elif param.type == "image":
                # Only what exists before this step: a forward reference cannot be picked.
                options = [(f"{{{{inputs.{n}}}}}", f"input {n}") for n in image_inputs]
                options += [(f"{{{{steps.{s}.output}}}}", f"output of step {s}") for s in earlier]
                if value not in {v for v, _ in options}:
                    value = ""
            fields.append(ParamField(pname, param, value, options, errors.pop(f"step-{i}-param-{pname}", [])))
        extra = {k: v for k, v in step.items() if k not in _STEP_FIELDS}
        if not spec:  # an unknown kind keeps its params as they were
            extra["params"] = params
        sid = str(step.get("id", ""))
        card = StepCard(i, sid, kind, _shown(step.get("model")), json.dumps(extra) if extra else "", fields, spec)
        card.errors = {k: errors.pop(f"step-{i}-{k}", []) for k in ("id", "kind", "model", "step")}
        card.first, card.last = i == 0, i == len(raw_steps) - 1
        if card.model and card.model not in known_models:
            card.unknown_model = card.model
        cards.append(card)
        if sid:
            earlier.append(sid)
    raw_outputs = d.get("outputs") if isinstance(d.get("outputs"), dict) else {}
    outputs = [
        OutputRow(i, name, _shown(src), errors.pop(f"output-{name}", []))
        for i, (name, src) in enumerate(raw_outputs.items())  # type: ignore[union-attr]
    ]
    outputs.append(OutputRow(len(outputs), "", ""))
    sources = [(f"{{{{steps.{s}.output}}}}", f"output of step {s}") for s in earlier]
    for row in outputs:
        if row.source and row.source not in {v for v, _ in sources}:
            sources.append((row.source, row.source))  # e.g. a sub-workflow's named output, kept as it is
    return Builder(
        inputs,
        cards,
        outputs,
        json.dumps(d["policy"]) if "policy" in d else "",
        list(STEP_KINDS),
        INPUT_TYPES,
        model_options(catalogue),
        sources,
        _unshown(errors),
    )


def _typed(text: str, typ: str) -> Any:
    """A field's text as the JSON value of a parameter or input of `typ`; text that does not parse is
    kept as it is, so the gate names the problem at the field rather than the form dropping it."""
    text = text.strip()
    if typ in ("integer", "number", "choice"):
        if REFERENCE.fullmatch(text):
            return text  # bound to an input
        try:
            number = float(text)
        except ValueError:
            return text
        if typ == "integer" or (typ == "choice" and number.is_integer() and "." not in text):
            return int(number) if number.is_integer() else number
        return number
    if typ == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    return text


def _json_field(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


def form_to_definition(post: QueryDict) -> dict[str, Any]:
    """The posted form view as a definition. Empty parameter fields are left out (the default applies);
    a blank input or output row adds nothing."""
    definition: dict[str, Any] = {"inputs": {}, "steps": [], "outputs": {}}
    for i in range(_count(post, "inputs-count")):
        name = post.get(f"input-{i}-name", "").strip()
        if not name:
            continue
        typ = post.get(f"input-{i}-type", "string")
        had = post.get(f"input-{i}-keys", "").split(",")
        spec: dict[str, Any] = {"type": typ}
        required = post.get(f"input-{i}-required") == "on"
        if required or "required" in had:
            spec["required"] = required
        default = post.get(f"input-{i}-default", "")
        if typ == "string" and (default or "default" in had):
            spec["default"] = default
        elif default.strip() and typ != "image":
            spec["default"] = _typed(default, typ)
        if description := post.get(f"input-{i}-description", "").strip():
            spec["description"] = description
        definition["inputs"][name] = spec
    for i in range(_count(post, "steps-count")):
        kind = post.get(f"step-{i}-kind", "")
        step: dict[str, Any] = {"id": post.get(f"step-{i}-id", "").strip(), "kind": kind}
        extra = _json_field(post.get(f"step-{i}-extra", ""))
        extra = extra if isinstance(extra, dict) else {}
        spec_kind = STEP_KINDS.get(kind)
        model = post.get(f"step-{i}-model", "").strip()
        if model and (spec_kind is None or spec_kind.takes_model):
            step["model"] = model
        if spec_kind and spec_kind.params:
            params = {}
            for pname, param in spec_kind.params.items():
                text = post.get(f"step-{i}-param-{pname}", "")
                if text.strip() or (param.type == "text" and text):
                    params[pname] = text if param.type == "text" else _typed(text, param.type)
            step["params"] = params
        elif "params" in extra:
            step["params"] = extra.pop("params")
        step.update({k: v for k, v in extra.items() if k not in _STEP_FIELDS})
        definition["steps"].append(step)
    for i in range(_count(post, "outputs-count")):
        name, source = post.get(f"output-{i}-name", "").strip(), post.get(f"output-{i}-source", "").strip()
        if name:
            definition["outputs"][name] = source
    policy = _json_field(post.get("policy", ""))
    if policy is not None:
        definition["policy"] = policy
    return definition


def _count(post: QueryDict, key: str) -> int:
    try:
        # Bounded like the request itself (DATA_UPLOAD_MAX_NUMBER_FIELDS): a forged count costs nothing.
        return max(0, min(int(post.get(key, "0")), 1000))
    except ValueError:
        return 0


def apply_op(definition: dict[str, Any], op: str) -> dict[str, Any]:
    """A structural edit of the form view: add, remove-N, up-N, down-N (anything else re-renders as is)."""
    steps = definition.setdefault("steps", [])
    verb, _, arg = op.partition("-")
    i = int(arg) if arg.isdigit() else -1
    if verb == "add":
        taken = {s.get("id") for s in steps}
        n = len(steps) + 1
        while f"step{n}" in taken:
            n += 1
        previous = next((s for s in reversed(steps) if s.get("model")), None)
        kind = "img2img" if steps else "generate_image"
        new: dict[str, Any] = {"id": f"step{n}", "kind": kind, "params": {}}
        if previous:
            new["model"] = previous["model"]
        if steps and steps[-1].get("id"):
            new["params"]["image"] = f"{{{{steps.{steps[-1]['id']}.output}}}}"
        steps.append(new)
    elif verb == "remove" and 0 <= i < len(steps):
        steps.pop(i)
    elif verb == "up" and 0 < i < len(steps):
        steps[i - 1], steps[i] = steps[i], steps[i - 1]
    elif verb == "down" and 0 <= i < len(steps) - 1:
        steps[i + 1], steps[i] = steps[i], steps[i + 1]
    return definition


def _default_model(catalogue: Catalogue) -> str:
    """A standard-tier family with something to run (the cheap choice to start from), else any."""
    usable = [n for n, f in sorted(catalogue.families.items()) if f.default]
    standard = [n for n in usable if catalogue.families[n].tier == "standard"]
    return (standard or usable or [""])[0]


STARTERS = {
    "blank": "Blank: no steps yet",
    "text_to_image": "Text to image: a subject input and one generate step",
    "image_to_image": "Image to image: a reference image input restyled by a prompt",
}


def starter_definition(name: str, catalogue: Catalogue) -> dict[str, Any]:
    """The first draft of a new workflow, from the starting template chosen on the new-workflow page."""
    model = _default_model(catalogue)
    if name == "text_to_image":
        return {
            "inputs": {"subject": {"type": "string", "required": True, "description": "What to show"}},
            "steps": [
                {
                    "id": "image",
                    "kind": "generate_image",
                    "model": model,
                    "params": {"prompt": "{{inputs.subject}}"},
                }
            ],
            "outputs": {"image": "{{steps.image.output}}"},
        }
    if name == "image_to_image":
        return {
            "inputs": {
                "reference": {"type": "image", "required": True, "description": "The image to restyle"},
                "style": {"type": "string", "required": False, "default": "", "description": "The look to give it"},
            },
            "steps": [
                {
                    "id": "styled",
                    "kind": "img2img",
                    "model": model,
                    "params": {"image": "{{inputs.reference}}", "prompt": "{{inputs.style}}", "strength": 0.5},
                }
            ],
            "outputs": {"image": "{{steps.styled.output}}"},
        }
    return {"inputs": {}, "steps": [], "outputs": {}}
