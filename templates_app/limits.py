"""Bounds on what a definition may ask for (issue 11): how deep its JSON nests, how many
steps it runs once its sub-workflows are expanded, and how many pixels each step reads
and writes. The publish gate applies them to a definition; the run resolver applies the
same rules to a run's expanded specification, where inputs have given every size.

Sub-workflows are walked once per version: a workflow of ten steps that each run a
workflow of ten steps … costs one visit per distinct version, not one per path."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core.errors import Problem
from core.jsonsafe import json_problems
from templates_app.definition import REFERENCE, STEP_KINDS, Reference
from templates_app.models import Workflow, WorkflowVersion

MAX_DEFINITION_DEPTH = 32
MAX_NESTING = 20  # a chain of sub-workflows deeper than this is treated as a cycle
UNBOUNDED = 10**18  # the step count of a cycle


def max_run_steps() -> int:
    return int(settings.FLONIKS_MAX_RUN_STEPS)


# --- JSON shape ------------------------------------------------------------------------


def shape_problems(definition: Any, *, path: str = "") -> list[Problem]:
    """A definition nested deeper than MAX_DEFINITION_DEPTH, or holding NUL characters."""
    return json_problems(definition, path=path, max_depth=MAX_DEFINITION_DEPTH)


# --- sub-workflows: resolution, cycles and expanded size, memoised per version -------------


def resolve_subworkflow(slug: str, version: str | None) -> WorkflowVersion | None:
    """The version a sub-workflow step runs: the named one, else the canonical one."""
    workflow = Workflow.objects.filter(slug=slug).select_related("canonical_version").first()
    if workflow is None:
        return None
    found = (
        WorkflowVersion.objects.filter(workflow=workflow, version=version).first()
        if version
        else workflow.canonical_version
    )
    if found is not None:
        found.workflow = workflow  # callers read the workflow's slug and lifecycle: no second query
    return found


def subworkflow_steps(definition: Any) -> Iterable[tuple[int, dict[str, Any]]]:
    steps = definition.get("steps") if isinstance(definition, dict) else None
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        if isinstance(step, dict) and step.get("kind") == "subworkflow" and isinstance(step.get("workflow"), str):
            yield index, step


class SubworkflowWalk:
    """One operation's view of the sub-workflow graph, each version visited once."""

    def __init__(self) -> None:
        self._resolved: dict[tuple[str, str | None], WorkflowVersion | None] = {}
        self._steps: dict[int, int] = {}
        self._reach: dict[int, tuple[frozenset[str], bool]] = {}  # version → (slugs it reaches, hits a cycle)
        self._open: list[int] = []

    def resolve(self, slug: str, version: Any) -> WorkflowVersion | None:
        key = (slug, version if isinstance(version, str) and version else None)
        if key not in self._resolved:
            self._resolved[key] = resolve_subworkflow(*key)
        return self._resolved[key]

    def _target(self, step: dict[str, Any]) -> WorkflowVersion | None:
        return self.resolve(step["workflow"], step.get("version"))

    # cycles

    def reach(self, version: WorkflowVersion) -> tuple[frozenset[str], bool]:
        """The slugs a version runs through its sub-workflows, transitively, and whether it hits a cycle."""
        if version.pk in self._reach:
            return self._reach[version.pk]
        if version.pk in self._open or len(self._open) >= MAX_NESTING:
            return frozenset(), True
        self._open.append(version.pk)
        slugs: set[str] = set()
        cyclic = False
        for _index, step in subworkflow_steps(version.definition):
            slugs.add(step["workflow"])
            target = self._target(step)
            if target is not None:
                below, loops = self.reach(target)
                slugs |= below
                cyclic = cyclic or loops or version.workflow.slug in below
        self._open.pop()
        self._reach[version.pk] = (frozenset(slugs), cyclic)
        return self._reach[version.pk]

    def leads_to(self, version: WorkflowVersion, targets: set[str]) -> bool:
        """Whether a version leads, through the sub-workflows it runs, to any target slug (or into a cycle)."""
        slugs, cyclic = self.reach(version)
        return cyclic or bool(slugs & targets)

    # size

    def steps_of(self, version: WorkflowVersion) -> int:
        """How many steps a version runs with every sub-workflow expanded (UNBOUNDED for a cycle)."""
        if version.pk in self._steps:
            return self._steps[version.pk]
        if version.pk in self._open or len(self._open) >= MAX_NESTING:
            return UNBOUNDED
        self._open.append(version.pk)
        total = min(UNBOUNDED, sum(self.step_counts(version.definition)))
        self._open.pop()
        self._steps[version.pk] = total
        return total

    def step_counts(self, definition: Any) -> list[int]:
        """The expanded size of each top-level step of a definition (a missing sub-workflow counts 0)."""
        steps = definition.get("steps") if isinstance(definition, dict) else None
        counts = []
        for step in steps if isinstance(steps, list) else []:
            if isinstance(step, dict) and step.get("kind") == "subworkflow":
                target = self._target(step) if isinstance(step.get("workflow"), str) else None
                counts.append(self.steps_of(target) if target is not None else 0)
            else:
                counts.append(1)
        return counts


def step_count_problems(definition: Any, walk: SubworkflowWalk, *, budget: int | None = None) -> list[Problem]:
    """`too_many_steps` past FLONIKS_MAX_RUN_STEPS, `budget_exceeded` past policy.budget.max_steps,
    both counted with sub-workflows expanded."""
    counts = walk.step_counts(definition)
    total = min(UNBOUNDED, sum(counts))
    cap = max_run_steps()
    problems = []
    biggest = max(range(len(counts)), key=counts.__getitem__) if counts else None
    why = ""
    if biggest is not None and counts[biggest] > 1:
        step = definition["steps"][biggest]
        size = "a cycle" if counts[biggest] >= UNBOUNDED else f"{counts[biggest]:,} steps"
        why = f" Step {step.get('id')!r} (sub-workflow {step.get('workflow')}) alone expands to {size}."
    shown = "without end (a cycle)" if total >= UNBOUNDED else f"{total:,} steps"
    if total > cap:
        problems.append(
            Problem(
                "too_many_steps",
                "steps",
                f"With its sub-workflows expanded this workflow runs {shown}; a run may have at most {cap}.{why}",
            )
        )
    elif budget is not None and total > budget:
        problems.append(
            Problem(
                "budget_exceeded",
                "policy.budget.max_steps",
                f"With its sub-workflows expanded the pipeline has {shown}; the budget allows {budget}.{why}",
            )
        )
    return problems


def budget_of(definition: Any) -> int | None:
    """policy.budget.max_steps when it is a whole number ≥ 1 (the gate reports any other value)."""
    policy = definition.get("policy") if isinstance(definition, dict) else None
    budget = policy.get("budget") if isinstance(policy, dict) else None
    value = budget.get("max_steps") if isinstance(budget, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


# --- pixels per step -------------------------------------------------------------------------

Size = tuple[int, int]


@dataclass(frozen=True)
class PixelLimits:
    image: int  # width × height a generate_image, img2img or upscale step may read or write
    animation: int  # frames × width × height of an animate step

    @classmethod
    def current(cls) -> PixelLimits:
        return cls(int(settings.FLONIKS_MAX_STEP_PIXELS), int(settings.FLONIKS_MAX_ANIMATION_PIXELS))


def _mpx(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f} Mpx"


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value)


def _param(kind: str, params: Mapping[str, Any], name: str) -> int | None:
    """A numeric parameter as given, else its default; None while it is still a reference."""
    if name in params:
        return _number(params[name])
    spec = STEP_KINDS[kind].params.get(name)
    return _number(spec.default) if spec is not None else None


def step_pixels(
    kind: str, params: Mapping[str, Any], source: Size | None, path: str, limits: PixelLimits
) -> tuple[list[Problem], Size | None]:
    """The problems of one step against the pixel limits, and the size of what it makes (None: not known yet).

    `source` is the size of the step's `image` input when known."""
    problems: list[Problem] = []
    if kind not in STEP_KINDS or kind in (
        "subworkflow",
        "comfyui",
    ):  # a graph's size is the server's; its download is capped
        return problems, None
    if source is not None and kind in ("img2img", "upscale", "animate") and source[0] * source[1] > limits.image:
        problems.append(
            Problem(
                "too_many_pixels",
                f"{path}.params.image",
                f"The image this {kind} step reads is {source[0]}×{source[1]} ({_mpx(source[0] * source[1])}); "
                f"a step may read at most {_mpx(limits.image)}.",
            )
        )
        return problems, None
    out: Size | None = None
    if kind == "generate_image":
        w, h = _param(kind, params, "width"), _param(kind, params, "height")
        out = (w, h) if w and h else None
        blame = "width"
    elif kind == "img2img":
        out, blame = source, "image"
    elif kind == "upscale":
        factor = _param(kind, params, "factor")
        out = (source[0] * factor, source[1] * factor) if source and factor else None
        blame = "factor"
    else:  # animate: frames × pixels
        w, h, frames = _param(kind, params, "width"), _param(kind, params, "height"), _param(kind, params, "frames")
        if w and h and frames and frames * w * h > limits.animation:
            problems.append(
                Problem(
                    "too_many_pixels",
                    f"{path}.params.frames",
                    f"{frames} frames of {w}×{h} are {_mpx(frames * w * h)}; an animation may have at most "
                    f"{_mpx(limits.animation)} (fewer frames or a smaller size).",
                )
            )
        return problems, (w, h) if w and h else None
    if out is not None and out[0] * out[1] > limits.image:
        problems.append(
            Problem(
                "too_many_pixels",
                f"{path}.params.{blame}",
                f"This {kind} step would make {out[0]}×{out[1]} ({_mpx(out[0] * out[1])}); "
                f"a step may write at most {_mpx(limits.image)}.",
            )
        )
        out = None
    return problems, out


def definition_pixel_problems(definition: Any, limits: PixelLimits | None = None) -> list[Problem]:
    """Pixel limits of the sizes a definition fixes itself; sizes that depend on inputs or on
    sub-workflows are checked again at run start, when they are known."""
    limits = limits or PixelLimits.current()
    steps = definition.get("steps") if isinstance(definition, dict) else None
    sizes: dict[str, Size | None] = {}
    problems: list[Problem] = []
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict) or not isinstance(step.get("params", {}), dict):
            continue
        kind, params = str(step.get("kind")), step.get("params") or {}
        source = None
        image = params.get("image")
        if isinstance(image, str) and (m := REFERENCE.fullmatch(image.strip())):
            ref = Reference.parse(m.group(1))
            source = sizes.get(ref.step) if ref and ref.step and ref.output is None else None
        found, out = step_pixels(kind, params, source, f"steps[{index}]", limits)
        problems.extend(found)
        if isinstance(step.get("id"), str):
            sizes[step["id"]] = out
    return problems


# --- showing stored definitions ----------------------------------------------------------------


def editor_text(definition: Any) -> str:
    """A definition as the draft editor shows it: indented, unless it nests past the cap (stored
    before the cap existed), where indentation alone would grow the page a hundredfold."""
    import json

    if shape_problems(definition):
        return json.dumps(definition, ensure_ascii=False)
    return json.dumps(definition, indent=2, ensure_ascii=False)
