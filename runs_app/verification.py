"""The verdict of a reproduction: each output compared with the record's stored one (DESIGN §7),
its difference image, and how a check's outputs are read on its page."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db.models import prefetch_related_objects

from runs_app.compare import NEAR_THRESHOLD, difference, pixels_identical, similarity
from runs_app.models import Artifact, ReproductionCheck, Run, Verdict, steps_in_order
from runs_app.persistence import read_bytes
from runs_app.storage import store_file

log = logging.getLogger(__name__)

# What a check stores per output (ReproductionCheck.differences):
# {"image": sha256 of the difference PNG, "identical": bool, "changed": 0..1, "largest": 0..255}
OutputDifference = dict[str, Any]


@dataclass
class Outcome:
    verdict: Verdict
    scores: dict[str, float]
    differences: dict[str, OutputDifference] = field(default_factory=dict)


def verify(run: Run) -> tuple[Verdict, dict[str, float]]:
    outcome = compare_outputs(run, with_differences=False)
    return outcome.verdict, outcome.scores


def compare_outputs(run: Run, *, with_differences: bool = True) -> Outcome:
    """Each output of the reproduction `run` against the record's stored one: the verdict, the
    scores and, with `with_differences`, each difference image stored as an artifact (content
    addressed, so computing it again stores nothing twice). Runs on a worker, never in a request."""
    record = run.reproduces
    assert record is not None
    prefetch_related_objects([run], steps_in_order())
    produced = run.outputs_by_name()
    scores: dict[str, float] = {}
    differences: dict[str, OutputDifference] = {}
    exact = True
    for name, stored in record.outputs.items():
        new = produced.get(name)
        if new is None:
            scores[name], exact = 0.0, False
            continue
        same_bytes = new.sha256 == stored["sha256"]
        if same_bytes and not with_differences:
            scores[name] = 1.0
            continue
        new_bytes = read_bytes(new)
        old_bytes = new_bytes if same_bytes else read_bytes(Artifact.objects.get(sha256=stored["sha256"]))
        identical = same_bytes or pixels_identical(old_bytes, new_bytes)
        if identical:
            scores[name] = 1.0
        else:
            exact = False
            scores[name] = similarity(old_bytes, new_bytes)
        if with_differences and (made := stored_difference(name, old_bytes, new_bytes, identical)) is not None:
            differences[name] = made
    if exact:
        verdict = Verdict.EXACT
    else:
        verdict = Verdict.NEAR if min(scores.values(), default=0) >= NEAR_THRESHOLD else Verdict.DIFFERENT
    return Outcome(verdict, scores, differences)


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
    score: float | None  # None: the check has no score for it (not finished)
    difference: OutputDifference | None  # None: made before difference images were kept, or unreadable

    @property
    def is_compared(self) -> bool:
        """The check scored it: its reproduction finished."""
        return self.score is not None

    @property
    def verdict(self) -> Verdict:
        if not self.is_compared:
            return Verdict.PENDING
        if self.reproduced is None:
            return Verdict.DIFFERENT
        if self.is_identical:
            return Verdict.EXACT
        return Verdict.NEAR if (self.score or 0) >= NEAR_THRESHOLD else Verdict.DIFFERENT

    @property
    def is_identical(self) -> bool:
        """Identical decoded pixels (every frame); a check from before differences were kept says so
        by a score of exactly 1 (what verify gives identical pixels)."""
        if self.reproduced is None:
            return False
        if self.difference is not None:
            return bool(self.difference["identical"])
        return self.score == 1.0

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
    def score_shown(self) -> str:
        return "—" if self.score is None else f"{self.score:.4g}"

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
