"""Comparing images: pixel identity and a perceptual similarity score."""

from __future__ import annotations

import io

import imagehash
import numpy as np
from PIL import Image, ImageSequence

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


def difference_image(a: bytes, b: bytes) -> bytes:
    """A PNG showing where two images differ (brighter = more different)."""
    x, y = _frames(a)[0], _frames(b)[0]
    if x.size != y.size:
        y = y.resize(x.size, Image.Resampling.LANCZOS)
    diff = np.abs(np.asarray(x, dtype=np.int16) - np.asarray(y, dtype=np.int16)).max(axis=2)
    scaled = (np.clip(diff * 4, 0, 255)).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(scaled, "L").save(buf, "PNG")
    return buf.getvalue()
