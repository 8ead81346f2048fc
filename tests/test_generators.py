"""Built-in generators: deterministic bytes, and every input visibly matters."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from runs_app.generators.base import StepRequest
from runs_app.generators.builtin import BuiltinProvider

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
