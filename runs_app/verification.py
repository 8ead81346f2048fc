"""The verdict of a reproduction: each output compared with the record's stored one (DESIGN §7)."""

from __future__ import annotations

from django.db.models import prefetch_related_objects

from runs_app.compare import NEAR_THRESHOLD, pixels_identical, similarity
from runs_app.models import Artifact, Run, Verdict, steps_in_order
from runs_app.persistence import read_bytes


def verify(run: Run) -> tuple[Verdict, dict[str, float]]:
    record = run.reproduces
    assert record is not None
    prefetch_related_objects([run], steps_in_order())
    produced = run.outputs_by_name()
    scores: dict[str, float] = {}
    exact = True
    for name, stored in record.outputs.items():
        new = produced.get(name)
        if new is None:
            scores[name], exact = 0.0, False
            continue
        if new.sha256 == stored["sha256"]:
            scores[name] = 1.0
            continue
        old_bytes, new_bytes = read_bytes(Artifact.objects.get(sha256=stored["sha256"])), read_bytes(new)
        if pixels_identical(old_bytes, new_bytes):
            scores[name] = 1.0
        else:
            exact = False
            scores[name] = similarity(old_bytes, new_bytes)
    if exact:
        return Verdict.EXACT, scores
    return (Verdict.NEAR if min(scores.values(), default=0) >= NEAR_THRESHOLD else Verdict.DIFFERENT), scores
