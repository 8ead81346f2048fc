"""Comparing images: pixel identity, the verdict's perceptual scores (pHash and SSIM over every
frame, DESIGN §7) and the similarity score the record comparison shows."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import imagehash
import numpy as np
from PIL import Image, ImageSequence
from skimage.metrics import structural_similarity

from runs_app.models import Artifact, VersionRecord
from runs_app.storage import read_artifact

NEAR_THRESHOLD = 0.85  # the record comparison's similarity score (`similarity`), not the verdict's

# The verdict's thresholds (DESIGN §7, docs/models.md): a reproduction whose pixels differ is `near`
# when every frame of every output has a perceptual-hash distance of at most PHASH_NEAR (of 64 bits)
# AND a structural similarity of at least SSIM_NEAR; otherwise it is `different`. Pinned on
# constructed cases in tests/test_verdicts.py: light noise is near, another scene different.
PHASH_NEAR = 12
SSIM_NEAR = 0.90
# SSIM is computed on luminance, frames larger than this (either side) downscaled by area first:
# the verdict stays fast on 4K frames and long animations, and structure at this size is what the
# eye compares. pHash works on its own 32×32 reduction anyway.
SSIM_MAX_SIDE = 256


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


def decode_frames(data: bytes) -> list[np.ndarray]:
    """Every frame of an image as an RGB uint8 array (one for a still image)."""
    with Image.open(io.BytesIO(data)) as img:
        return [np.asarray(frame.convert("RGB")).copy() for frame in ImageSequence.Iterator(img)]


@dataclass(frozen=True)
class FrameScore:
    phash_distance: int  # 0 (same perceptual hash) … 64
    ssim: float  # 1 (same structure) … about 0 (or below, for an inverted picture)

    @property
    def is_near(self) -> bool:
        return self.phash_distance <= PHASH_NEAR and self.ssim >= SSIM_NEAR


@dataclass(frozen=True)
class OutputScores:
    """One output compared with the stored one, frame by frame."""

    identical: bool  # every frame's decoded pixels equal, the same number of frames
    frames: list[FrameScore]  # per compared frame (the shorter animation's count)
    frame_counts: tuple[int, int]  # stored, reproduced

    @property
    def worst(self) -> FrameScore:
        if self.identical or not self.frames:
            return FrameScore(0, 1.0) if self.identical else FrameScore(64, 0.0)
        return FrameScore(max(f.phash_distance for f in self.frames), min(f.ssim for f in self.frames))

    @property
    def is_near(self) -> bool:
        same_length = self.frame_counts[0] == self.frame_counts[1]
        return self.identical or (same_length and all(f.is_near for f in self.frames))

    def as_json(self) -> dict[str, Any]:
        """What a check stores per output: the worst frame's scores, and each frame's for an animation."""
        worst = self.worst
        stored: dict[str, Any] = {
            "phash_distance": worst.phash_distance,
            "ssim": worst.ssim,
            "identical": self.identical,
            "frames": self.frame_counts[1],
        }
        if self.frame_counts[0] != self.frame_counts[1]:
            stored["stored_frames"] = self.frame_counts[0]
        if len(self.frames) > 1 and not self.identical:
            stored["per_frame"] = [{"phash_distance": f.phash_distance, "ssim": f.ssim} for f in self.frames]
        return stored


IDENTICAL_STILL = OutputScores(True, [], (1, 1))


def _fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The frame at `size` (width, height), resized only when it differs."""
    if (frame.shape[1], frame.shape[0]) == size:
        return frame
    return np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.LANCZOS))


def _luma_for_ssim(frame: np.ndarray) -> np.ndarray:
    img = Image.fromarray(frame).convert("L")
    longest = max(img.size)
    if longest > SSIM_MAX_SIDE:
        scale = SSIM_MAX_SIDE / longest
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.BOX)
    return np.asarray(img, dtype=np.float64)


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    x, y = _luma_for_ssim(a), _luma_for_ssim(b)
    side = min(x.shape)
    if side < 3:  # too small for a window: the mean pixel agreement stands in
        return round(1 - float(np.abs(x - y).mean()) / 255, 4)
    window = min(7, side if side % 2 else side - 1)
    return round(float(structural_similarity(x, y, data_range=255, win_size=window)), 4)


def score_frames(stored: list[np.ndarray], produced: list[np.ndarray]) -> OutputScores:
    """Compare two decoded images frame by frame: identity of every frame, else pHash distance and
    SSIM per frame (the reproduction fitted to the stored size when it differs)."""
    counts = (len(stored), len(produced))
    identical = counts[0] == counts[1] and all(
        x.shape == y.shape and np.array_equal(x, y) for x, y in zip(stored, produced, strict=True)
    )
    if identical:
        return OutputScores(True, [], counts)
    frames = []
    for x, y in zip(stored, produced, strict=False):
        y = _fit(y, (x.shape[1], x.shape[0]))
        if np.array_equal(x, y):
            frames.append(FrameScore(0, 1.0))
            continue
        distance = int(imagehash.phash(Image.fromarray(x)) - imagehash.phash(Image.fromarray(y)))
        frames.append(FrameScore(distance, _ssim(x, y)))
    return OutputScores(False, frames, counts)


def score_images(stored: bytes, produced: bytes) -> OutputScores:
    if stored == produced:
        frames = len(decode_frames(stored)) if _is_animated(stored) else 1
        return OutputScores(True, [], (frames, frames))
    return score_frames(decode_frames(stored), decode_frames(produced))


def _is_animated(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as img:
        return bool(getattr(img, "is_animated", False))


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
