"""The built-in `local/*` generators: procedural images from NumPy and Pillow.

Bit-for-bit deterministic: every random choice comes from a PCG64 stream seeded
by the step's seed, its prompt and its model snapshot, and the encoders write
no timestamps. Pixel fields are float32 and computed with element-wise NumPy
operations only (no BLAS, whose threading may reorder sums), which halves a
step's memory against float64 and keeps the bytes identical from run to run.
The prompt picks the palette ("warm", "cool", "earthy" …), the seed the composition, and guidance, steps, scheduler, size, strength and the
snapshot all visibly change the picture.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, SupportsIndex, overload
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import unescape as xml_unescape

import numpy as np
import PIL
from numpy.typing import NDArray
from PIL import Image, ImageFilter
from PIL.PngImagePlugin import PngInfo

from runs_app.generators.base import (
    GeneratedFile,
    GeneratorError,
    Progress,
    StepCancelled,
    StepHandle,
    StepRequest,
    no_progress,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

# Recorded in every step's fingerprint: bump it with any change that alters an output byte.
GENERATOR_VERSION = "1"

Field = NDArray[np.float32]
F32 = np.float32
Tick = Callable[[float, str], None]  # (done 0..1 within one stage of the work, message)
BAND_PIXELS = 2_000_000  # output pixels per upscale band: tens of milliseconds, so a cancel is noticed fast
LANCZOS_REACH = 4  # source rows either side of an output row that Lanczos-3 reads when upscaling (support 3, rounded)

# Words in a prompt → colours. Order matters only for ties; unknown prompts get hash colours.
PALETTE_WORDS: dict[str, list[tuple[int, int, int]]] = {
    "warm": [(222, 126, 63), (245, 186, 102), (168, 72, 42)],
    "earthy": [(126, 92, 58), (171, 139, 92), (86, 98, 60)],
    "cool": [(64, 118, 196), (120, 178, 214), (38, 62, 120)],
    "minimal": [(236, 236, 232), (196, 200, 204), (52, 56, 60)],
    "vibrant": [(240, 46, 136), (255, 204, 0), (0, 188, 212)],
    "urban": [(88, 92, 104), (208, 82, 52), (40, 42, 48)],
    "sunset": [(250, 122, 78), (214, 68, 110), (90, 40, 110)],
    "ocean": [(0, 105, 148), (72, 202, 228), (2, 48, 71)],
    "forest": [(34, 85, 51), (108, 160, 84), (20, 40, 24)],
    "night": [(14, 20, 48), (48, 64, 128), (220, 210, 160)],
    "gold": [(212, 175, 55), (255, 223, 128), (120, 90, 20)],
    "pastel": [(255, 209, 220), (204, 232, 255), (226, 240, 203)],
    "mono": [(20, 20, 20), (128, 128, 128), (240, 240, 240)],
    "red": [(200, 30, 40)],
    "blue": [(30, 80, 200)],
    "green": [(40, 160, 70)],
    "purple": [(120, 50, 160)],
}
SCHEDULERS = {"euler": 0.0, "euler_a": 0.6, "ddim": 0.25, "dpmpp_2m": 0.1, "heun": 0.4}
WORD = re.compile(r"[a-z]+")


def _hash32(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:4], "big")


def _rng(request: StepRequest, salt: str = "") -> np.random.Generator:
    prompt = str(request.params.get("prompt", ""))
    entropy = [request.seed or 0, _hash32(prompt), _hash32(request.family, request.snapshot), _hash32(salt)]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def palette_for(prompt: str, negative: str = "") -> NDArray[np.float64]:
    words = WORD.findall(prompt.lower())
    banned = set(WORD.findall(negative.lower()))
    colours = [c for w in words if w in PALETTE_WORDS and w not in banned for c in PALETTE_WORDS[w]]
    if not colours:  # no colour words: derive a stable palette from the prompt itself
        digest = hashlib.sha256(prompt.encode()).digest()
        colours = [(digest[i], digest[i + 1], digest[i + 2]) for i in range(0, 12, 3)]
    return np.array(colours[:8], dtype=np.float64) / 255.0


class SnapshotStyle:
    """How one dated snapshot renders: derived from its name, so each snapshot differs visibly."""

    def __init__(self, family: str, snapshot: str) -> None:
        h = hashlib.sha256(f"{family}@{snapshot}".encode()).digest()
        self.frequency = 0.6 + h[0] / 255 * 1.8
        self.warp = h[1] / 255 * 0.9
        self.hue_shift = (h[2] / 255 - 0.5) * 0.5
        self.gamma = 0.75 + h[3] / 255 * 0.6
        self.cells = 6 + h[4] % 18
        self.bands = 2 + h[5] % 6


# --- progress and cancellation -------------------------------------------------------


def _no_tick(done: float, message: str = "") -> None:
    """For work nobody follows, and for sub-steps whose progress the caller reports itself."""


def _part(tick: Tick, start: float, end: float) -> Tick:
    """A sub-stage covering start..end of `tick`'s range."""
    return lambda done, message: tick(start + (end - start) * done, message)


class _Tracker:
    """Maps the stages of one step onto its 0..1 progress and checks for a cancel at every tick.

    Reported values only ever increase and stay below 1.0 until `finish`, so a follower never sees
    the bar go back or reach the end early, whatever the stages' weights."""

    def __init__(self, report: Progress, handle: StepHandle) -> None:
        self._report, self._handle, self._last = report, handle, 0.0

    def stage(self, start: float, end: float) -> Tick:
        def tick(done: float, message: str = "") -> None:
            self._handle.raise_if_cancelled()
            value = start + (end - start) * min(max(done, 0.0), 1.0)
            if self._last < value < 1.0:
                self._last = value
                self._report(value, message)

        return tick

    def quiet(self) -> Tick:
        """Cancel checks only: for the sub-steps of a frame, whose progress is reported per frame."""
        return lambda done, message: self._handle.raise_if_cancelled()

    def finish(self, message: str) -> None:
        self._handle.raise_if_cancelled()
        self._report(1.0, message)


class _Sink(io.BytesIO):
    """Pillow's encoders write a long image in blocks: checking for a cancel on each block stops an
    encode of several seconds (an 8192² PNG) within milliseconds, without touching its bytes."""

    def __init__(self, tick: Tick, expected: int) -> None:
        super().__init__()
        self._tick, self._expected = tick, max(1, expected)

    def write(self, data: ReadableBuffer, /) -> int:
        written = super().write(data)
        # Compressed size is unknown until the end: report against the raw size, capped short of done.
        self._tick(min(0.9, self.tell() / self._expected), "encoding")
        return written


def _bands(total: int, size: int) -> list[tuple[int, int]]:
    """`total` rows cut into near-equal bands of at least `size` rows (one band if total < size)."""
    n = max(1, total // max(1, size))
    edges = [round(i * total / n) for i in range(n + 1)]
    return list(itertools.pairwise(edges))


# --- fields: H×W arrays in [0, 1] ----------------------------------------------------


def _axes(w: int, h: int) -> tuple[Field, Field]:
    return np.linspace(0.0, 1.0, w, dtype=F32), np.linspace(0.0, h / w, h, dtype=F32)


def _plasma(
    w: int, h: int, rng: np.random.Generator, style: SnapshotStyle, detail: int, phase: float, tick: Tick = _no_tick
) -> Field:
    x, y = _axes(w, h)
    field = np.zeros((h, w), dtype=F32)
    for k in range(detail):
        # Python floats, not NumPy float64 scalars, so the arithmetic below stays float32.
        fx, fy = (float(v) for v in rng.normal(0, 6 * style.frequency, 2) * (1 + k / 4))
        c = float(rng.uniform(0, 2 * np.pi)) + phase * (k + 1)
        # sin(fx·x + fy·y + c) as a sum of outer products: O(w + h) trig instead of O(w·h).
        sx, cx = np.sin(fx * x + c), np.cos(fx * x + c)
        field += (np.outer(np.cos(fy * y), sx) + np.outer(np.sin(fy * y), cx)) / (1 + k * 0.35)
        tick((k + 1) / detail, f"layer {k + 1} of {detail}")
    return _normalise(field)


def _mosaic(
    w: int, h: int, rng: np.random.Generator, style: SnapshotStyle, detail: int, phase: float, tick: Tick = _no_tick
) -> Field:
    n = style.cells + detail
    scale = 0.25
    sw, sh = max(8, int(w * scale)), max(8, int(h * scale))
    x, y = _axes(sw, sh)
    px, py = rng.uniform(0, 1, n), rng.uniform(0, h / w, n)
    px = (px + phase * 0.05 * rng.normal(0, 1, n)) % 1.0
    values = rng.uniform(0, 1, n)
    best = np.full((sh, sw), np.inf)
    field = np.zeros((sh, sw))
    for i in range(n):
        d = (x[None, :] - px[i]) ** 2 + (y[:, None] - py[i]) ** 2
        closer = d < best
        best = np.where(closer, d, best)
        field = np.where(closer, values[i], field)
        if i % 8 == 7 or i == n - 1:  # a cell is one small plane: report in batches
            tick((i + 1) / (n + 1), f"cell {i + 1} of {n}")
    field = field + np.sqrt(best) * style.warp
    img = Image.fromarray((_normalise(field) * 255).astype(np.uint8)).resize((w, h), Image.Resampling.NEAREST)
    tick(1.0, "cells scaled up")
    return np.asarray(img, dtype=F32) / 255.0


def _aurora(
    w: int, h: int, rng: np.random.Generator, style: SnapshotStyle, detail: int, phase: float, tick: Tick = _no_tick
) -> Field:
    x, y = _axes(w, h)
    field = np.zeros((h, w), dtype=F32)
    bands = style.bands + detail // 4
    for b in range(bands):
        centre = float(rng.uniform(0.1, 0.9)) * h / w
        wave = centre + 0.08 * np.sin(
            float(rng.uniform(2, 9)) * style.frequency * x + float(rng.uniform(0, 6.3)) + phase
        )
        width = float(rng.uniform(0.02, 0.09))
        field += np.exp(-(((y[:, None] - wave[None, :]) / width) ** 2)) * (1 - b * 0.05)
        tick((b + 1) / (bands + 1), f"band {b + 1} of {bands}")
    fine = np.outer(np.sin(y * 140 * style.frequency), np.cos(x * 90)).astype(F32, copy=False)
    field = _normalise((field + fine * 0.05 * min(detail, 30) / 30).astype(F32, copy=False))  # float32 already
    tick(1.0, "fine detail")
    return field


FIELDS: dict[str, Callable[..., Field]] = {"plasma": _plasma, "mosaic": _mosaic, "aurora": _aurora}


def _normalise(field: Field) -> Field:
    lo, hi = float(field.min()), float(field.max())
    return (field - lo) / (hi - lo) if hi > lo else np.zeros_like(field)


def _ramp(field: Field, stops: list[float]) -> Field:
    """Piecewise-linear colour ramp through equally spaced stops, in float32 (np.interp works in float64)."""
    if len(stops) == 1:
        return field * stops[0]
    top = len(stops) - 2
    pos = field * (top + 1)
    idx = np.minimum(pos, top).astype(np.uint8)  # ≤ 8 stops: one byte per pixel, not eight
    pos -= idx
    pos *= np.asarray(np.diff(stops), dtype=F32)[idx]  # in place, one temporary plane at a time
    pos += np.asarray(stops[:-1], dtype=F32)[idx]
    return pos


def _colourise(
    field: Field, palette: NDArray[np.float64], guidance: float, style: SnapshotStyle, tick: Tick = _no_tick
) -> NDArray[np.uint8]:
    contrast = 1.0 + guidance / 3.0
    field = 1.0 / (1.0 + np.exp(-(field - 0.5) * contrast * 2.5))
    field = _normalise(field) ** style.gamma
    tick(0.25, "contrast")
    channels = []
    for c in range(3):
        channels.append(_ramp(field, [float(v) for v in palette[:, c]]))
        tick(0.25 + 0.35 * (c + 1) / 3, f"colour channel {c + 1} of 3")
    del field
    # The snapshot's own tone: a rotation in RGB space, small enough to keep the palette recognisable.
    # Written out per channel (element-wise, no matmul), so no BLAS threading can change the sums.
    a = style.hue_shift
    rot = np.array([[1 - abs(a), a, 0], [0, 1 - abs(a), a], [a, 0, 1 - abs(a)]]).clip(0, 1).tolist()
    out = np.empty((*channels[0].shape, 3), dtype=np.uint8)
    for c in range(3):
        mixed = channels[0] * rot[c][0]
        mixed += channels[1] * rot[c][1]
        mixed += channels[2] * rot[c][2]
        np.clip(mixed, 0, 1, out=mixed)
        mixed *= 255
        mixed += 0.5
        out[..., c] = mixed  # truncates towards zero, as astype(np.uint8) did
        tick(0.6 + 0.4 * (c + 1) / 3, f"toning channel {c + 1} of 3")
    return out


def _family_style(family: str) -> str:
    name = family.split("/", 1)[-1]
    if name not in FIELDS:
        raise GeneratorError(f"The built-in provider has no family '{family}'.")
    return name


def _picture(request: StepRequest, w: int, h: int, phase: float = 0.0, tick: Tick = _no_tick) -> NDArray[np.uint8]:
    p = request.params
    style = SnapshotStyle(request.family, request.snapshot)
    rng = _rng(request)
    detail = max(2, min(32, int(p.get("steps", 30)) // 4))
    scheduler_warp = SCHEDULERS.get(str(p.get("scheduler", "euler")), 0.0)
    # The field and the colouring take roughly equal time across families and sizes.
    field = FIELDS[_family_style(request.family)](w, h, rng, style, detail, phase + scheduler_warp, _part(tick, 0, 0.5))
    if scheduler_warp:
        field = _normalise(field + scheduler_warp * np.sin(field * 6 * np.pi) * 0.25)
    palette = palette_for(str(p.get("prompt", "")), str(p.get("negative_prompt", "")))
    return _colourise(field, palette, float(p.get("guidance_scale", 7.5)), style, _part(tick, 0.5, 1.0))


class _Source(io.BytesIO):
    """Pillow decodes an input in blocks read from here: checking for a cancel on each read stops the
    decode of a large input (half a second for a 2048² PNG) early."""

    def __init__(self, data: bytes, handle: StepHandle) -> None:
        super().__init__(data)
        self._handle = handle

    def read(self, size: int | None = -1, /) -> bytes:
        self._handle.raise_if_cancelled()
        return super().read(size)


def _decode(data: bytes, handle: StepHandle) -> Image.Image:
    try:
        img = Image.open(_Source(data, handle))
        img.load()
    except StepCancelled:
        raise
    except Exception as exc:  # Pillow raises many kinds for a bad file
        raise GeneratorError(f"Cannot read the input image: {exc}") from None
    return img.convert("RGB")


def _encode_png(img: Image.Image, provenance: dict[str, Any], tick: Tick = _no_tick) -> GeneratedFile:
    info = PngInfo()
    if provenance:
        info.add_text(PROVENANCE_KEY, provenance_text(provenance))
    buf = _Sink(tick, img.width * img.height * 3)
    img.save(buf, "PNG", pnginfo=info, compress_level=6)
    return GeneratedFile(buf.getvalue(), "image/png", "png", img.width, img.height, picture=img)


def _upscale_in_bands(source: Image.Image, factor: int, tick: Tick) -> Image.Image:
    """The whole-image Lanczos upscale, computed in horizontal bands so that a cancel is noticed between them.

    Bit-identical to one `resize` of the whole image (checked on noise for factors 2, 3 and 4 and every
    source height up to 8192 / factor): each band resamples a window of source rows with LANCZOS_REACH rows of context
    either side, as `box` reads pixels outside itself. The window is cropped rather than the whole image
    boxed because Pillow ≥ 13 runs the vertical pass first (rounding differently) when the output is
    shorter than the input; a window no taller than its band's output keeps the horizontal-first order.
    For factor 3 a band's filter centres differ from the whole image's in the last bit, but no Lanczos
    weight lies within 0.007 of a rounding boundary of Pillow's 22-bit fixed point, so the weights agree."""
    w, h = source.size
    size = (w * factor, h * factor)
    bands = _bands(h, max(2 * LANCZOS_REACH, BAND_PIXELS // max(1, size[0] * factor)))
    if len(bands) == 1 or factor < 2:
        return source.resize(size, Image.Resampling.LANCZOS)
    big = Image.new("RGB", size, None)  # no fill: the bands cover every row
    for i, (top, bottom) in enumerate(bands):
        start, end = max(0, top - LANCZOS_REACH), min(h, bottom + LANCZOS_REACH)
        window = source.crop((0, start, w, end))
        box = (0, top - start, w, bottom - start)
        big.paste(
            window.resize((size[0], (bottom - top) * factor), Image.Resampling.LANCZOS, box=box), (0, top * factor)
        )
        tick((i + 1) / len(bands), f"upscaling band {i + 1} of {len(bands)}")
    return big


def _sharpen_in_bands(big: Image.Image, unsharp: ImageFilter.UnsharpMask, tick: Tick) -> Image.Image:
    """`big.filter(unsharp)` in horizontal bands, bit-identical: Pillow's Gaussian is three integer box
    blurs, so a row depends only on rows within 3 × (box radius + 1) of it; a margin wider than that
    around each band gives its rows exactly the whole image's values."""
    margin = 4 * (math.ceil(unsharp.radius) + 1)
    bands = _bands(big.height, max(margin, BAND_PIXELS // big.width))
    if len(bands) == 1:
        return big.filter(unsharp)
    out = Image.new("RGB", big.size, None)  # no fill: the bands cover every row
    for i, (top, bottom) in enumerate(bands):
        start, end = max(0, top - margin), min(big.height, bottom + margin)
        sharp = big.crop((0, start, big.width, end)).filter(unsharp)
        out.paste(sharp.crop((0, top - start, big.width, bottom - start)), (0, top))
        tick((i + 1) / len(bands), f"sharpening band {i + 1} of {len(bands)}")
    return out


class _FrameDurations(list[int]):
    """Animated WebP's encoder looks up each frame's duration right after encoding that frame — the one
    hook between frames, so a long animation encode reports progress and stops on a cancel there.
    The durations themselves are the constant the encoder would otherwise get."""

    def __init__(self, duration: int, frames: int, tick: Tick) -> None:
        super().__init__([duration] * frames)
        self._tick = tick

    @overload
    def __getitem__(self, index: SupportsIndex) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> int | list[int]:
        if not isinstance(index, slice):
            done = int(index) + 1
            self._tick(done / len(self), f"encoding frame {done} of {len(self)}")
        return super().__getitem__(index)


class _TickingFrames:
    """GIF's encoder pulls frames one at a time (quantising each): re-iterable, ticking per frame."""

    def __init__(self, frames: Sequence[Image.Image], tick: Tick, total: int) -> None:
        self._frames, self._tick, self._total = frames, tick, total

    def __iter__(self) -> Iterator[Image.Image]:
        for i, frame in enumerate(self._frames):
            self._tick((i + 1) / self._total, f"encoding frame {i + 1} of {self._total}")
            yield frame


PROVENANCE_KEY = "floniks:provenance"
XMP_NAMESPACE = "https://floniks.dev/ns/provenance/1.0/"


def provenance_text(provenance: dict[str, Any]) -> str:
    """The provenance as every format carries it: compact JSON with sorted keys (same run, same bytes)."""
    return json.dumps(provenance, sort_keys=True, separators=(",", ":"))


def provenance_xmp(provenance: dict[str, Any]) -> bytes:
    """An XMP packet carrying the provenance JSON (WebP), in one property of Floniks' namespace."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:floniks="{XMP_NAMESPACE}">'
        f"<floniks:provenance>{xml_escape(provenance_text(provenance))}</floniks:provenance>"
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
    ).encode()


def embedded_provenance(data: bytes) -> dict[str, Any]:
    """The provenance an output carries in its own metadata: a PNG text chunk, a WebP's XMP, a GIF's
    comment; {} when there is none."""
    with Image.open(io.BytesIO(data)) as img:
        if img.format == "PNG":
            text = img.info.get(PROVENANCE_KEY)
        elif img.format == "GIF":
            comment = img.info.get("comment", b"")
            text = comment.decode() if isinstance(comment, bytes) else comment
        elif img.format == "WEBP":
            xmp = img.info.get("xmp", b"")
            found = re.search(rb"<floniks:provenance>(.*?)</floniks:provenance>", xmp or b"", re.S)
            text = xml_unescape(found.group(1).decode()) if found else None
        else:
            text = None
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _encode_animation(
    frames: list[Image.Image], gif: bool, duration: int, tick: Tick, provenance: dict[str, Any] | None = None
) -> GeneratedFile:
    w, h, n = frames[0].width, frames[0].height, len(frames)
    if gif:
        # Quantising the frames takes most of a GIF's time; writing them (checked per block) the rest.
        buf = _Sink(_part(tick, 0.8, 1.0), w * h * n)
        rest = _TickingFrames(frames[1:], _part(tick, 0, 0.8), n)
        # GIF's own metadata is its comment extension: the provenance goes there, as PNG's goes in a text chunk.
        extra: dict[str, Any] = {"comment": provenance_text(provenance).encode()} if provenance else {}
        frames[0].save(
            buf, "GIF", save_all=True, append_images=rest, duration=duration, loop=0, optimize=False, **extra
        )
        return GeneratedFile(buf.getvalue(), "image/gif", "gif", w, h, n)  # its frames were quantised: no picture
    buf = _Sink(tick, w * h * n)  # WebP writes once, at the end
    durations = _FrameDurations(duration, n, tick)
    frames[0].save(
        buf,
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=0,
        lossless=True,
        method=4,
        xmp=provenance_xmp(provenance) if provenance else b"",
    )
    return GeneratedFile(buf.getvalue(), "image/webp", "webp", w, h, n, picture=frames[0])


class BuiltinProvider:
    """Provider for every `local/*` family."""

    takes_seed = True  # the seed feeds every random choice: same seed, same bytes
    runs_ahead = True  # local and free: a step started ahead and then not kept costs only CPU

    def generate(self, request: StepRequest, progress: Progress = no_progress) -> GeneratedFile:
        handler = getattr(self, f"_{request.kind}", None)
        if handler is None:
            raise GeneratorError(f"The built-in provider cannot run '{request.kind}' steps.")
        request.handle.raise_if_cancelled()  # cancelled while queued: do no work at all
        tracker = _Tracker(progress, request.handle)
        generated: GeneratedFile = handler(request, tracker)
        tracker.finish("done")
        return generated

    def cancel(self, handle: StepHandle) -> None:
        # Nothing remote to tell: `generate` watches the handle between frames, layers and bands.
        if not handle.cancelled:
            handle.mark_cancelled("cancelled")

    def fingerprint(self, family: str, snapshot: str) -> dict[str, Any]:
        return {
            "provider": "builtin",
            "generator": GENERATOR_VERSION,
            "family": family,
            "snapshot": snapshot,
            "numpy": np.__version__,
            "pillow": PIL.__version__,
        }

    def _generate_image(self, request: StepRequest, tracker: _Tracker) -> GeneratedFile:
        w, h = int(request.params.get("width", 768)), int(request.params.get("height", 512))
        pixels = _picture(request, w, h, tick=tracker.stage(0, 0.6))
        return _encode_png(Image.fromarray(pixels, "RGB"), request.provenance, tracker.stage(0.6, 1.0))

    def _img2img(self, request: StepRequest, tracker: _Tracker) -> GeneratedFile:
        source = _decode(request.images["image"], request.handle)
        strength = float(request.params.get("strength", 0.5))
        # Generated first, so that its temporaries are gone before `out` exists.
        generated = _picture(request, source.width, source.height, tick=tracker.stage(0, 0.55))
        out = np.asarray(source, dtype=F32)
        del source
        out *= 1 - strength
        weight = F32(strength)
        blend = tracker.stage(0.55, 0.65)
        for c in range(3):  # a channel at a time: one float32 plane of temporaries, not three
            out[..., c] += generated[..., c] * weight
            blend((c + 1) / 3, f"blending channel {c + 1} of 3")
        del generated
        out += 0.5
        np.clip(out, 0, 255, out=out)
        return _encode_png(Image.fromarray(out.astype(np.uint8), "RGB"), request.provenance, tracker.stage(0.65, 1.0))

    def _upscale(self, request: StepRequest, tracker: _Tracker) -> GeneratedFile:
        source = _decode(request.images["image"], request.handle)
        factor = int(request.params.get("factor", 2))
        if source.width * factor > 8192 or source.height * factor > 8192:
            raise GeneratorError(f"Upscaling {source.width}×{source.height} by {factor} exceeds 8192 pixels a side.")
        style = SnapshotStyle(request.family, request.snapshot)
        big = _upscale_in_bands(source, factor, tracker.stage(0, 0.15))
        del source
        amount = int(60 + 240 * float(request.params.get("sharpness", 0.5)))
        unsharp = ImageFilter.UnsharpMask(radius=1 + style.warp * 3, percent=amount, threshold=2)
        sharp = _sharpen_in_bands(big, unsharp, tracker.stage(0.15, 0.55))
        del big
        return _encode_png(sharp, request.provenance, tracker.stage(0.55, 1.0))

    def _animate(self, request: StepRequest, tracker: _Tracker) -> GeneratedFile:
        p = request.params
        w, h = int(p.get("width", 256)), int(p.get("height", 256))
        frames_n, fps = int(p.get("frames", 12)), int(p.get("fps", 12))
        motion = float(p.get("motion", 0.5))
        gif = str(p.get("format", "webp")) == "gif"
        base = None
        if "image" in request.images:
            base = np.asarray(
                _decode(request.images["image"], request.handle).resize((w, h), Image.Resampling.LANCZOS), dtype=F32
            )
        # Lossless WebP encoding costs about twice the rendering of a frame; GIF's quantising about half.
        rendered = 0.35 if not gif else 0.7
        render, quiet = tracker.stage(0, rendered), tracker.quiet()
        frames = []
        for i in range(frames_n):
            pixels = _picture(request, w, h, phase=2 * np.pi * motion * i / frames_n, tick=quiet).astype(F32)
            if base is not None:
                pixels = 0.5 * base + 0.5 * pixels
            frames.append(Image.fromarray((pixels + 0.5).clip(0, 255).astype(np.uint8), "RGB"))
            render((i + 1) / frames_n, f"frame {i + 1} of {frames_n}")
        duration = max(1, round(1000 / fps))
        return _encode_animation(frames, gif, duration, tracker.stage(rendered, 1.0), request.provenance)
