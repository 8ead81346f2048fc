"""A reproduction's verdict on constructed image pairs: the same pixels in other bytes are
exact; a small change scores at or above the near threshold (runs_app.compare.NEAR_THRESHOLD)
and is near; another picture scores below it and is different. Scores are pinned, so a
change to the similarity measure is a decision too."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from runs_app import persistence, services, verification
from runs_app.compare import NEAR_THRESHOLD, pixels_identical, similarity
from runs_app.models import RunStep, Verdict
from runs_app.storage import store_file
from tests.helpers import finished_record, small_definition

pytestmark = pytest.mark.django_db

RNG_SEED = 7
BLOCKS = np.random.default_rng(RNG_SEED).integers(0, 256, (4, 6, 3))  # a 96×64 picture of 16-pixel tiles


def picture(blocks: np.ndarray) -> np.ndarray:
    return np.kron(blocks, np.ones((16, 16, 1)))


def png(pixels: np.ndarray, **options: Any) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB").save(buf, "PNG", **options)
    return buf.getvalue()


def one_tile_inverted() -> np.ndarray:
    blocks = BLOCKS.copy()
    blocks[1, 5] = 255 - blocks[1, 5]
    return picture(blocks)


def light_noise() -> np.ndarray:
    return picture(BLOCKS) + np.random.default_rng(RNG_SEED + 1).integers(-3, 4, (64, 96, 3))


ORIGINAL = png(picture(BLOCKS))
# name → (the reproduction's bytes, the verdict it must get, its pinned score)
PAIRS: dict[str, tuple[bytes, str, float]] = {
    "same pixels, other encoding": (png(picture(BLOCKS), compress_level=1), Verdict.EXACT, 1.0),
    "light noise": (png(light_noise()), Verdict.NEAR, 0.9388),
    "one tile of 24 inverted": (png(one_tile_inverted()), Verdict.NEAR, 0.8915),
    "another picture": (
        png(picture(np.random.default_rng(RNG_SEED + 2).integers(0, 256, (4, 6, 3)))),
        Verdict.DIFFERENT,
        0.3799,
    ),
    "the negative": (png(255 - picture(BLOCKS)), Verdict.DIFFERENT, 0.0591),
}


@pytest.mark.parametrize("name", list(PAIRS))
def test_scores_of_constructed_pairs_are_pinned(name):
    produced, verdict, score = PAIRS[name]
    assert produced != ORIGINAL
    if verdict == Verdict.EXACT:
        assert pixels_identical(ORIGINAL, produced)
    else:
        assert not pixels_identical(ORIGINAL, produced)
        assert similarity(ORIGINAL, produced) == pytest.approx(score, abs=1e-4)
        assert (score >= NEAR_THRESHOLD) == (verdict == Verdict.NEAR)


@pytest.fixture
def reproduction(make_workflow, publish, operator, monkeypatch):
    """A record whose stored hero is ORIGINAL, and its reproduction run, not yet executed."""
    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow)
    stored_sha = record.outputs["hero"]["sha256"]
    real_read = persistence.read_bytes
    monkeypatch.setattr(verification, "read_bytes", lambda a: ORIGINAL if a.sha256 == stored_sha else real_read(a))
    return services.reproduce_record(actor=operator, record=record)


@pytest.mark.parametrize("name", list(PAIRS))
def test_the_verdict_of_a_reproduction_that_produced_the_pair(reproduction, name):
    produced, verdict, score = PAIRS[name]
    artifact = store_file(produced, media_type="image/png", extension="png", width=96, height=64)
    hero_step = reproduction.specification["outputs"]["hero"]
    assert RunStep.objects.filter(run=reproduction, step_id=hero_step).update(output=artifact) == 1
    got, scores = verification.verify(reproduction)
    assert got == verdict and scores == {"hero": pytest.approx(score, abs=1e-4)}
