"""The verdict of a reproduction: each output compared with the record's stored one (DESIGN §7),
its difference image, and how a check's outputs are read on its page."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db.models import prefetch_related_objects

from runs_app.compare import (
    IDENTICAL_STILL,
    NEAR_THRESHOLD,
    PHASH_NEAR,
    SSIM_NEAR,
    decode_frames,
    difference,
    score_frames,
)
from runs_app.models import Artifact, ReproductionCheck, Run, Verdict, steps_in_order
from runs_app.persistence import read_bytes
from runs_app.storage import store_file

log = logging.getLogger(__name__)

# What a check stores per output (ReproductionCheck.differences):
# {"image": sha256 of the difference PNG, "identical": bool, "changed": 0..1, "largest": 0..255}
OutputDifference = dict[str, Any]


# What a check stores per output (ReproductionCheck.scores), runs_app.compare.OutputScores.as_json:
# {"phash_distance": 0..64, "ssim": ..1, "identical": bool, "frames": n, "per_frame": [...] (animations)}
# — the worst frame's scores; a missing output is {"missing": true}. Checks settled before
# issue 14 stored one float per output (the older similarity score); pages still read those.
OutputScore = dict[str, Any]
MISSING: OutputScore = {"missing": True, "phash_distance": None, "ssim": None, "identical": False}


@dataclass
class Outcome:
    verdict: Verdict
    scores: dict[str, OutputScore]
    differences: dict[str, OutputDifference] = field(default_factory=dict)


def verify(run: Run) -> tuple[Verdict, dict[str, OutputScore]]:
    outcome = compare_outputs(run, with_differences=False)
    return outcome.verdict, outcome.scores


def verdict_of(scores: dict[str, OutputScore]) -> Verdict:
    """exact when every output is pixel-identical (every frame), near when every frame of every
    output is within PHASH_NEAR and SSIM_NEAR, different otherwise (a missing output too)."""
    if all(s.get("identical") for s in scores.values()):
        return Verdict.EXACT
    return Verdict.NEAR if all(_is_near(s) for s in scores.values()) else Verdict.DIFFERENT


def _is_near(score: OutputScore) -> bool:
    if score.get("identical"):
        return True
    if score.get("missing") or score.get("stored_frames") is not None:
        return False
    frames = score.get("per_frame") or [score]
    return all(f["phash_distance"] <= PHASH_NEAR and f["ssim"] >= SSIM_NEAR for f in frames)


def compare_outputs(run: Run, *, with_differences: bool = True) -> Outcome:
    """Each output of the reproduction `run` against the record's stored one: the verdict, the
    scores and, with `with_differences`, each difference image stored as an artifact (content
    addressed, so computing it again stores nothing twice). Runs on a worker, never in a request."""
    record = run.reproduces
    assert record is not None
    prefetch_related_objects([run], steps_in_order())
    produced = run.outputs_by_name()
    scores: dict[str, OutputScore] = {}
    differences: dict[str, OutputDifference] = {}
    for name, stored in record.outputs.items():
        new = produced.get(name)
        if new is None:
            scores[name] = dict(MISSING)
            continue
        same_bytes = new.sha256 == stored["sha256"]
        if same_bytes and not with_differences:
            scores[name] = IDENTICAL_STILL.as_json() | {"frames": new.frames or 1}
            continue
        new_bytes = read_bytes(new)
        old_bytes = new_bytes if same_bytes else read_bytes(Artifact.objects.get(sha256=stored["sha256"]))
        # Decoded once, as arrays, for the identity of every frame and the per-frame scores.
        new_frames = decode_frames(new_bytes)
        measured = score_frames(new_frames if same_bytes else decode_frames(old_bytes), new_frames)
        scores[name] = measured.as_json()
        if with_differences and (made := stored_difference(name, old_bytes, new_bytes, measured.identical)) is not None:
            differences[name] = made
    return Outcome(verdict_of(scores), scores, differences)


def stored_difference(name: str, old: bytes, new: bytes, identical: bool) -> OutputDifference | None:
    try:
        diff = difference(old, new)
    except (OSError, SyntaxError, ValueError) as exc:  # evidence for the eye, never a reason to lose the verdict
        log.warning("No difference image for output %s: %s", name, exc)
        return None
    image = store_file(
        diff.png,
        media_type="image/png",
        extension="png",
        width=diff.width,
        height=diff.height,
        kind=Artifact.Kind.DIFFERENCE,
    )
    return {"image": image.sha256, "identical": identical, "changed": diff.changed, "largest": diff.largest}


# --- reading a check -------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputComparison:
    """One output of a check as its page shows it: stored and reproduced side by side, their
    difference image and scores, and the verdict for this output alone."""

    name: str
    stored: dict[str, Any]  # the record's {sha256, url, media_type}
    reproduced: Artifact | None  # None: the reproduction made no such output
    # The stored scores (OutputScore); a bare float from a check settled before issue 14 (the older
    # similarity score: 1.0 for identical pixels, NEAR_THRESHOLD for near); None: not finished.
    score: OutputScore | float | None
    difference: OutputDifference | None  # None: made before difference images were kept, or unreadable

    @property
    def is_compared(self) -> bool:
        """The check scored it: its reproduction finished."""
        return self.score is not None

    @property
    def _legacy(self) -> float | None:
        return float(self.score) if isinstance(self.score, int | float) else None

    @property
    def verdict(self) -> Verdict:
        if not self.is_compared:
            return Verdict.PENDING
        if self.reproduced is None:
            return Verdict.DIFFERENT
        if self.is_identical:
            return Verdict.EXACT
        if (legacy := self._legacy) is not None:
            return Verdict.NEAR if legacy >= NEAR_THRESHOLD else Verdict.DIFFERENT
        return Verdict.NEAR if isinstance(self.score, dict) and _is_near(self.score) else Verdict.DIFFERENT

    @property
    def is_identical(self) -> bool:
        """Identical decoded pixels (every frame)."""
        if self.reproduced is None:
            return False
        if isinstance(self.score, dict):
            return bool(self.score.get("identical"))
        if self.difference is not None:
            return bool(self.difference["identical"])
        return self._legacy == 1.0

    @property
    def verdict_words(self) -> str:
        if not self.is_compared:
            return "not compared"
        if self.reproduced is None:
            return "missing: the reproduction made no such output"
        return {
            Verdict.EXACT: "identical pixels",
            Verdict.NEAR: "nearly identical",
            Verdict.DIFFERENT: "different",
        }[self.verdict]

    @property
    def ssim_shown(self) -> str:
        if isinstance(self.score, dict) and self.score.get("ssim") is not None:
            return f"{self.score['ssim']:.4f}"
        return "—"

    @property
    def phash_shown(self) -> str:
        if isinstance(self.score, dict) and self.score.get("phash_distance") is not None:
            return f"{self.score['phash_distance']} of 64"
        return "—"

    @property
    def legacy_score_shown(self) -> str:
        """A check from before issue 14 has only the older similarity score."""
        return "" if self._legacy is None else f"{self._legacy:.4g}"

    @property
    def frames(self) -> list[dict[str, Any]]:
        """Each frame's scores, numbered from 1, for an animation that is not identical."""
        if not isinstance(self.score, dict):
            return []
        return [{"number": i, **f} for i, f in enumerate(self.score.get("per_frame") or [], start=1)]

    @property
    def frames_shown(self) -> str:
        if not isinstance(self.score, dict) or self.score.get("frames") is None:
            return "—"
        stored = self.score.get("stored_frames")
        return f"{self.score['frames']}" + (f" (stored: {stored})" if stored is not None else "")

    @property
    def changed_shown(self) -> str:
        if self.difference is None:
            return "—"
        share = float(self.difference["changed"])
        if share == 0:
            return "none"
        return "under 0.1 %" if share < 0.001 else f"{share * 100:.1f} %"

    @property
    def largest_shown(self) -> str:
        return "—" if self.difference is None else f"{self.difference['largest']} of 255"

    @property
    def difference_url(self) -> str | None:
        return f"/artifacts/{self.difference['image']}" if self.difference is not None else None


def comparisons(check: ReproductionCheck, produced: dict[str, Artifact]) -> list[OutputComparison]:
    """The outputs of a check's record, each with what its reproduction (`produced`: the run's
    outputs by name) made for it."""
    return [
        OutputComparison(
            name=name,
            stored=stored,
            reproduced=produced.get(name),
            score=check.scores.get(name),
            difference=check.differences.get(name),
        )
        for name, stored in check.record.outputs.items()
    ]
