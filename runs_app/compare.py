"""Comparing images: pixel identity and a perceptual similarity score."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import imagehash
import numpy as np
from PIL import Image, ImageSequence

from runs_app.models import Artifact, VersionRecord
from runs_app.storage import read_artifact

NEAR_THRESHOLD = 0.85


def _frames(data: bytes) -> list[Image.Image]:
    with Image.open(io.BytesIO(data)) as img:
        return [frame.convert("RGB").copy() for frame in ImageSequence.Iterator(img)]


def pixels_identical(a: bytes, b: bytes) -> bool:
    if a == b:
        return True
    fa, fb = _frames(a), _frames(b)
    return len(fa) == len(fb) and all(
        x.size == y.size and np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(fa, fb, strict=True)
    )


def similarity(a: bytes, b: bytes) -> float:
    """0..1: half perceptual hash agreement, half mean pixel agreement (first frames, same size)."""
    x, y = _frames(a)[0], _frames(b)[0]
    if x.size != y.size:
        y = y.resize(x.size, Image.Resampling.LANCZOS)
    hash_score = 1 - (imagehash.phash(x) - imagehash.phash(y)) / 64
    mad = float(np.abs(np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64)).mean())
    return round(max(0.0, 0.5 * hash_score + 0.5 * (1 - mad / 128)), 4)


# A differing pixel is drawn at least this bright, so a difference of 1 in 255 is still seen on the
# black of identical pixels; beyond it, brightness grows with the difference (DIFFERENCE_GAIN per step, white from 96 on).
DIFFERENCE_FLOOR = 64
DIFFERENCE_GAIN = 2


@dataclass(frozen=True)
class Difference:
    """Where two images differ, first frame against first frame (an animation's too)."""

    png: bytes  # black where the pixels are equal, brighter where they differ more
    width: int
    height: int
    changed: float  # the share of pixels that differ at all, 0..1
    largest: int  # the largest difference of one colour channel, 0..255


def difference(a: bytes, b: bytes) -> Difference:
    """The amplified absolute per-pixel difference of two images' first frames, as a greyscale PNG
    (the second is resized to the first when their sizes differ)."""
    x, y = _frames(a)[0], _frames(b)[0]
    if x.size != y.size:
        y = y.resize(x.size, Image.Resampling.LANCZOS)
    diff = np.abs(np.asarray(x, dtype=np.int16) - np.asarray(y, dtype=np.int16)).max(axis=2)
    shown = np.where(diff > 0, np.minimum(255, DIFFERENCE_FLOOR + diff * DIFFERENCE_GAIN), 0).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(shown, "L").save(buf, "PNG")
    return Difference(
        png=buf.getvalue(),
        width=x.width,
        height=x.height,
        changed=round(float(np.count_nonzero(diff)) / diff.size, 6) if diff.size else 0.0,
        largest=int(diff.max(initial=0)),
    )


def difference_image(a: bytes, b: bytes) -> bytes:
    """A PNG showing where two images differ (black where equal, brighter = more different)."""
    return difference(a, b).png


def _diff(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {"a": left.get(k), "b": right.get(k)} for k in sorted(set(left) | set(right)) if left.get(k) != right.get(k)
    }


def artifacts_to_read(records: Iterable[VersionRecord]) -> dict[str, Artifact]:
    """Every output artifact of these records by sha256, in one query (comparing reads the bytes
    of the outputs that differ; fetched one by one, that would be a query per output and record)."""
    shas = {o["sha256"] for r in records for o in r.outputs.values()}
    return Artifact.objects.in_bulk(list(shas), field_name="sha256") if shas else {}


def compare_records(
    a: VersionRecord, b: VersionRecord, artifacts: Mapping[str, Artifact] | None = None
) -> dict[str, Any]:
    """What differs between two records; `artifacts` (from `artifacts_to_read`) spares the
    queries when the caller compares several pairs."""
    parameters = {}
    for step in sorted(set(a.parameters) | set(b.parameters)):
        changed = _diff(a.parameters.get(step, {}), b.parameters.get(step, {}))
        if changed:
            parameters[step] = changed
    if artifacts is None:  # only the outputs whose bytes are compared: none when all are the same file
        differing = [
            sha
            for name in set(a.outputs) & set(b.outputs)
            for sha in (a.outputs[name]["sha256"], b.outputs[name]["sha256"])
            if a.outputs[name]["sha256"] != b.outputs[name]["sha256"]
        ]
        artifacts = Artifact.objects.in_bulk(differing, field_name="sha256") if differing else {}
    outputs = {}
    for name in sorted(set(a.outputs) | set(b.outputs)):
        oa, ob = a.outputs.get(name), b.outputs.get(name)
        entry: dict[str, Any] = {"a": oa, "b": ob, "identical": bool(oa and ob and oa["sha256"] == ob["sha256"])}
        if oa and ob and not entry["identical"]:
            da, db = (read_artifact(_artifact(artifacts, o["sha256"])) for o in (oa, ob))
            entry["identical"] = pixels_identical(da, db)
            entry["similarity"] = 1.0 if entry["identical"] else similarity(da, db)
        outputs[name] = entry
    return {
        "a": str(a.pk),
        "b": str(b.pk),
        "same_workflow": a.workflow_id == b.workflow_id,
        "same_version": a.version_id == b.version_id,
        "parameters": parameters,
        "seeds": _diff(a.seeds, b.seeds),
        "models": _diff(a.step_models, b.step_models),
        "outputs": outputs,
    }


def _artifact(artifacts: Mapping[str, Artifact], sha: str) -> Artifact:
    try:
        return artifacts[sha]
    except KeyError:  # as Artifact.objects.get did: a record naming a file that is gone
        raise Artifact.DoesNotExist(sha) from None
