"""A reproduction's verdict on constructed image pairs (DESIGN §7): the same pixels in other
bytes are exact; otherwise pHash distance and SSIM, per frame, decide — light noise is near,
another scene different, and an animation whose last frame alone differs is not exact. The
scores are pinned (runs_app.compare.PHASH_NEAR, SSIM_NEAR), so a change to the measure or the
thresholds is a decision too."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from runs_app import compare, persistence, services, verification
from runs_app.compare import PHASH_NEAR, SSIM_NEAR, pixels_identical, score_images
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
# name → (the reproduction's bytes, the verdict it must get, its pinned (pHash distance, SSIM))
PAIRS: dict[str, tuple[bytes, str, tuple[int, float]]] = {
    "same pixels, other encoding": (png(picture(BLOCKS), compress_level=1), Verdict.EXACT, (0, 1.0)),
    "light noise": (png(light_noise()), Verdict.NEAR, (7, 0.9829)),
    "one tile of 24 inverted": (png(one_tile_inverted()), Verdict.NEAR, (10, 0.9207)),
    "another picture": (
        png(picture(np.random.default_rng(RNG_SEED + 2).integers(0, 256, (4, 6, 3)))),
        Verdict.DIFFERENT,
        (34, 0.4003),
    ),
    "the negative": (png(255 - picture(BLOCKS)), Verdict.DIFFERENT, (55, 0.0785)),
}


def animation(frames: list[np.ndarray]) -> bytes:
    """An animated WebP, lossless, so decoded frames are exactly the pixels given."""
    buf = io.BytesIO()
    images = [Image.fromarray(np.clip(f, 0, 255).astype(np.uint8), "RGB") for f in frames]
    images[0].save(buf, "WEBP", save_all=True, append_images=images[1:], lossless=True, duration=80, loop=0)
    return buf.getvalue()


def shifted(k: int) -> np.ndarray:
    return picture(np.roll(BLOCKS, k, axis=1))


MOVIE = [shifted(k) for k in range(4)]


@pytest.mark.parametrize("name", list(PAIRS))
def test_scores_of_constructed_pairs_are_pinned(name):
    produced, verdict, (distance, ssim) = PAIRS[name]
    assert produced != ORIGINAL
    scores = score_images(ORIGINAL, produced)
    assert scores.identical == (verdict == Verdict.EXACT) == pixels_identical(ORIGINAL, produced)
    assert scores.worst.phash_distance == distance and scores.worst.ssim == pytest.approx(ssim, abs=1e-4)
    assert scores.is_near == (verdict in (Verdict.EXACT, Verdict.NEAR))
    if verdict == Verdict.NEAR:  # inside both thresholds
        assert distance <= PHASH_NEAR and ssim >= SSIM_NEAR


def test_an_animation_whose_last_frame_alone_differs_is_not_exact():
    stored = animation(MOVIE)
    same = animation(MOVIE)
    assert score_images(stored, same).identical
    last_changed = animation([*MOVIE[:-1], 255 - MOVIE[-1]])
    scores = score_images(stored, last_changed)
    assert not scores.identical and not scores.is_near  # the first frames alone would say exact
    per_frame = scores.as_json()["per_frame"]
    assert [f["phash_distance"] for f in per_frame[:-1]] == [0, 0, 0] and per_frame[-1]["phash_distance"] > PHASH_NEAR
    assert [f["ssim"] for f in per_frame[:-1]] == [1.0, 1.0, 1.0] and per_frame[-1]["ssim"] < SSIM_NEAR
    lightly = animation([*MOVIE[:-1], MOVIE[-1] + np.random.default_rng(1).integers(-3, 4, MOVIE[-1].shape)])
    assert score_images(stored, lightly).is_near and not score_images(stored, lightly).identical
    shorter = score_images(stored, animation(MOVIE[:-1]))
    assert not shorter.identical and not shorter.is_near and shorter.as_json()["stored_frames"] == 4


def test_large_frames_are_downscaled_for_ssim(monkeypatch):
    """A 2048×1536 frame: SSIM runs on a reduction at most SSIM_MAX_SIDE wide, so the verdict stays
    quick on large outputs and long animations; the verdict is still right."""
    seen: list[tuple[int, ...]] = []
    real = compare.structural_similarity

    def spy(x, y, **options):
        seen.append(x.shape)
        return real(x, y, **options)

    monkeypatch.setattr(compare, "structural_similarity", spy)
    big = np.kron(BLOCKS, np.ones((384, 342, 1)))[:1536, :2048]
    noisy = png(big + np.random.default_rng(2).integers(-3, 4, big.shape))
    scores = score_images(png(big), noisy)
    assert scores.is_near and not scores.identical
    assert seen == [(192, 256)] and max(seen[0]) == compare.SSIM_MAX_SIDE


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
    produced, verdict, (distance, ssim) = PAIRS[name]
    artifact = store_file(produced, media_type="image/png", extension="png", width=96, height=64)
    hero_step = reproduction.specification["outputs"]["hero"]
    assert RunStep.objects.filter(run=reproduction, step_id=hero_step).update(output=artifact) == 1
    got, scores = verification.verify(reproduction)
    assert got == verdict
    assert scores["hero"]["phash_distance"] == distance and scores["hero"]["ssim"] == pytest.approx(ssim, abs=1e-4)
    assert scores["hero"]["identical"] == (verdict == Verdict.EXACT)


def test_a_reproduced_animation_whose_last_frame_alone_differs_is_different(reproduction, monkeypatch):
    """Through the verdict a check stores: every frame counts, and each frame's scores are kept."""
    stored, produced = animation(MOVIE), animation([*MOVIE[:-1], 255 - MOVIE[-1]])
    stored_sha = reproduction.reproduces.outputs["hero"]["sha256"]
    real_read = persistence.read_bytes
    monkeypatch.setattr(verification, "read_bytes", lambda a: stored if a.sha256 == stored_sha else real_read(a))
    artifact = store_file(produced, media_type="image/webp", extension="webp", width=96, height=64, frames=4)
    hero_step = reproduction.specification["outputs"]["hero"]
    RunStep.objects.filter(run=reproduction, step_id=hero_step).update(output=artifact)
    got, scores = verification.verify(reproduction)
    assert got == Verdict.DIFFERENT and scores["hero"]["identical"] is False and scores["hero"]["frames"] == 4
    assert [f["ssim"] for f in scores["hero"]["per_frame"]][:3] == [1.0, 1.0, 1.0]
