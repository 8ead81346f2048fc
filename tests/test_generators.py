"""Built-in generators: deterministic bytes, and every input visibly matters."""

from __future__ import annotations

import hashlib
import io
import itertools
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import PIL
import pytest
from PIL import Image, ImageFilter

from runs_app.generators import builtin
from runs_app.generators.base import StepCancelled, StepHandle, StepRequest
from runs_app.generators.builtin import GENERATOR_VERSION, BuiltinProvider

provider = BuiltinProvider()
BASE = StepRequest(
    "generate_image",
    "local/plasma",
    "2026-06-15",
    1234,
    {"prompt": "warm earthy palette", "width": 256, "height": 192, "steps": 30, "guidance_scale": 7.5},
    provenance={"step": "background", "seed": 1234},
)


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def differs(a: StepRequest, b: StepRequest) -> float:
    """Mean absolute pixel difference between two generations."""
    return float(np.abs(pixels(provider.generate(a).data) - pixels(provider.generate(b).data)).mean())


def test_same_request_gives_identical_bytes_even_in_another_process():
    first = provider.generate(BASE).data
    assert provider.generate(BASE).data == first
    code = (
        "import hashlib,sys;sys.path.insert(0,'.');"
        "from runs_app.generators.builtin import BuiltinProvider;from runs_app.generators.base import StepRequest;"
        f"r=StepRequest('generate_image','local/plasma','2026-06-15',1234,{BASE.params!r},provenance={BASE.provenance!r});"
        "print(hashlib.sha256(BuiltinProvider().generate(r).data).hexdigest())"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert other == hashlib.sha256(first).hexdigest()


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 1235},
        {"snapshot": "2026-04-21"},
        {"family": "local/mosaic"},
        {"params": {**BASE.params, "prompt": "cool minimal"}},
        {"params": {**BASE.params, "guidance_scale": 15}},
        {"params": {**BASE.params, "steps": 80}},
        {"params": {**BASE.params, "scheduler": "heun"}},
        {"params": {**BASE.params, "negative_prompt": "warm"}},
    ],
    ids=["seed", "snapshot", "family", "prompt", "guidance", "steps", "scheduler", "negative"],
)
def test_every_input_visibly_changes_the_picture(change):
    assert differs(BASE, replace(BASE, **change)) > 3.0


def test_warm_prompt_looks_warm_and_cool_looks_cool():
    warm = pixels(provider.generate(BASE).data).mean(axis=(0, 1))
    cool = pixels(provider.generate(replace(BASE, params={**BASE.params, "prompt": "cool minimal"})).data).mean(
        axis=(0, 1)
    )
    assert warm[0] > warm[2] + 40  # red over blue
    assert cool[2] > cool[0] + 20


def test_size_and_provenance():
    out = provider.generate(BASE)
    img = Image.open(io.BytesIO(out.data))
    assert (img.width, img.height) == (256, 192) and out.media_type == "image/png"
    assert '"seed":1234' in img.text["floniks:provenance"]


def test_img2img_strength_and_upscale_and_animation():
    source = provider.generate(BASE).data
    light = StepRequest(
        "img2img", "local/mosaic", "2026-08-30", 7, {"prompt": "cool", "strength": 0.1}, {"image": source}
    )
    heavy = replace(light, params={"prompt": "cool", "strength": 0.9})
    assert differs(light, heavy) > 10
    up = provider.generate(StepRequest("upscale", "local/aurora", "2026-07-01", None, {"factor": 2}, {"image": source}))
    assert (up.width, up.height) == (512, 384)
    anim = StepRequest(
        "animate", "local/plasma", "2026-06-15", 3, {"prompt": "sunset", "frames": 6, "width": 64, "height": 64}
    )
    out = provider.generate(anim)
    assert out.frames == 6 and out.media_type == "image/webp" and provider.generate(anim).data == out.data
    with Image.open(io.BytesIO(out.data)) as img:
        assert img.n_frames == 6
    gif = provider.generate(replace(anim, params={**anim.params, "format": "gif"}))
    assert gif.media_type == "image/gif" and Image.open(io.BytesIO(gif.data)).n_frames == 6


# --- progress, cancel and fingerprint (issue #12) ---------------------------------------------------


def noise_png(width: int, height: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def run_with_progress(request: StepRequest) -> tuple[bytes, list[tuple[float, str]]]:
    seen: list[tuple[float, str]] = []
    out = provider.generate(request, lambda fraction, message: seen.append((fraction, message)))
    return out.data, seen


ANIMATION = StepRequest(
    "animate", "local/aurora", "2026-07-01", 3, {"prompt": "sunset", "frames": 5, "width": 48, "height": 40}
)
FOLLOWED = {
    "plasma": BASE,
    "mosaic": replace(BASE, family="local/mosaic", snapshot="2026-08-30"),
    "aurora": replace(BASE, family="local/aurora", snapshot="2026-07-01"),
    "img2img": StepRequest(
        "img2img", "local/plasma", "2026-04-21", 4, {"prompt": "cool"}, {"image": noise_png(72, 56)}
    ),
    "upscale": StepRequest("upscale", "local/mosaic", "2026-05-02", None, {"factor": 3}, {"image": noise_png(90, 70)}),
    "webp": ANIMATION,
    "gif": replace(ANIMATION, params={**ANIMATION.params, "format": "gif"}),
}


@pytest.mark.parametrize("request_", FOLLOWED.values(), ids=FOLLOWED.keys())
def test_progress_rises_steadily_to_done_and_does_not_change_the_bytes(request_):
    data, seen = run_with_progress(request_)
    fractions = [fraction for fraction, _ in seen]
    assert len(fractions) >= 5
    assert all(a < b for a, b in itertools.pairwise(fractions)), fractions
    assert fractions[0] > 0 and fractions[-1] == 1.0 and fractions.count(1.0) == 1
    assert provider.generate(request_).data == data  # following progress leaves the output as it was


def test_an_animation_reports_every_frame_in_order():
    _, seen = run_with_progress(replace(ANIMATION, params={**ANIMATION.params, "frames": 7}))
    frames = [message for _, message in seen if message.startswith("frame ")]
    assert frames == [f"frame {i} of 7" for i in range(1, 8)]


def cancel_latency(request: StepRequest, when: Callable[[float, str], bool]) -> float:
    """Cancel `request` from another thread once its progress satisfies `when`; seconds until it stopped."""
    handle = StepHandle("test")
    request = replace(request, handle=handle)
    reached = threading.Event()
    cancelled_at: list[float] = []

    def follow(fraction: float, message: str = "") -> None:
        if when(fraction, message):
            reached.set()

    def canceller() -> None:
        if reached.wait(60):
            cancelled_at.append(time.monotonic())
            provider.cancel(handle)

    thread = threading.Thread(target=canceller)
    thread.start()
    try:
        with pytest.raises(StepCancelled):
            provider.generate(request, follow)
        stopped = time.monotonic()
    finally:
        reached.set()
        thread.join()
    assert handle.reason == "cancelled"
    return stopped - cancelled_at[0]


LONG_ANIMATION = StepRequest(
    "animate", "local/aurora", "2026-07-01", 3, {"prompt": "night", "frames": 48, "width": 768, "height": 768}
)


@pytest.mark.parametrize(
    ("request_", "when"),
    [
        (
            replace(BASE, family="local/aurora", params={**BASE.params, "width": 2048, "height": 2048}),
            lambda f, m: True,
        ),
        (replace(BASE, params={**BASE.params, "width": 2048, "height": 2048}), lambda f, m: m == "encoding"),
        (LONG_ANIMATION, lambda f, m: m == "frame 2 of 48"),
        (
            replace(LONG_ANIMATION, params={**LONG_ANIMATION.params, "frames": 5}),
            lambda f, m: m == "encoding frame 1 of 5",
        ),
        (
            replace(LONG_ANIMATION, params={**LONG_ANIMATION.params, "frames": 5, "format": "gif"}),
            lambda f, m: m == "encoding frame 2 of 5",
        ),
        (
            StepRequest("upscale", "local/plasma", "2026-06-15", None, {"factor": 4}, {"image": noise_png(640, 640)}),
            lambda f, m: m.startswith("sharpening band 2"),
        ),
    ],
    ids=["image-fields", "image-encoding", "animation-frames", "webp-encoding", "gif-encoding", "upscale-sharpening"],
)
def test_a_cancel_from_another_thread_stops_a_long_step_within_a_second(request_, when):
    # The issue's bound: built-in generators stop cooperatively between frames or bands within a second.
    assert cancel_latency(request_, when) < 1.0


def test_a_step_cancelled_before_it_starts_does_no_work():
    handle = StepHandle("test")
    handle.mark_cancelled("budget spent")
    seen: list[float] = []
    with pytest.raises(StepCancelled, match="budget spent"):
        provider.generate(replace(BASE, handle=handle), lambda fraction, message: seen.append(fraction))
    assert seen == []
    provider.cancel(handle)
    assert handle.reason == "budget spent"  # a second cancel keeps the first reason


def test_fingerprint_names_everything_that_shapes_the_bytes():
    assert provider.takes_seed is True
    assert provider.fingerprint("local/aurora", "2026-07-01") == {
        "provider": "builtin",
        "generator": GENERATOR_VERSION,
        "family": "local/aurora",
        "snapshot": "2026-07-01",
        "numpy": np.__version__,
        "pillow": PIL.__version__,
    }


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_a_banded_upscale_is_the_whole_image_lanczos_and_unsharp_mask(factor, monkeypatch):
    # Small bands, so that the tall input is cut into dozens of them.
    monkeypatch.setattr(builtin, "BAND_PIXELS", 4000)
    source = noise_png(61, 233, seed=factor)
    request = StepRequest(
        "upscale", "local/aurora", "2026-03-10", None, {"factor": factor, "sharpness": 0.8}, {"image": source}
    )
    style = builtin.SnapshotStyle(request.family, request.snapshot)
    whole = (
        Image.open(io.BytesIO(source))
        .convert("RGB")
        .resize((61 * factor, 233 * factor), Image.Resampling.LANCZOS)
        .filter(ImageFilter.UnsharpMask(radius=1 + style.warp * 3, percent=int(60 + 240 * 0.8), threshold=2))
    )
    banded = Image.open(io.BytesIO(provider.generate(request).data))
    assert banded.tobytes() == whole.tobytes()
