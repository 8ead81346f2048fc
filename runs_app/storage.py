"""Content-addressed artifact storage through Django's storage API.

Keys are `artifacts/<aa>/<bb>/<sha256>.<ext>`, so the same bytes are stored
once whatever the backend (local files by default, any S3-compatible bucket
when configured)."""

from __future__ import annotations

import hashlib
import io
import logging
import math
import warnings

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, UnidentifiedImageError

from core.errors import Problem, ValidationFailed
from runs_app.generators import GeneratedFile
from runs_app.models import Artifact

MAX_UPLOAD_BYTES: int = settings.FLONIKS_MAX_UPLOAD_BYTES
MAX_UPLOAD_PIXELS = 40_000_000
MAX_UPLOAD_SIDE = 8192
UPLOAD_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}
# The only media types served as themselves; anything else goes out as an attachment.
IMAGE_MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
THUMB_SIDE = 240
# A page shows a preview at most this many pixels on its long side and links the original.
PREVIEW_SIDE = 1024
# An animation's preview plays in place, so its frames are smaller still: every frame is decoded.
ANIMATED_PREVIEW_SIDE = 512
# Every frame of an animation's preview is held at once while it is encoded: a long animation's
# frames shrink further so that all of them together stay within this many pixels (~192 MB RGBA).
ANIMATED_PREVIEW_PIXELS = 48_000_000

log = logging.getLogger(__name__)


def artifact_storage() -> Storage:
    return storages["artifacts"]


def key_for(sha256: str, extension: str) -> str:
    return f"artifacts/{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension}"


def thumb_key(sha256: str) -> str:
    return f"thumbs/{sha256[:2]}/{sha256}-{THUMB_SIDE}.webp"


def preview_key(sha256: str) -> str:
    return f"previews/{sha256[:2]}/{sha256}-{PREVIEW_SIDE}.webp"


def preview_side(frames: int) -> int:
    """The long side of a preview: PREVIEW_SIDE for a still, less for an animation, and less the longer it is."""
    if frames <= 1:
        return PREVIEW_SIDE
    return max(128, min(ANIMATED_PREVIEW_SIDE, math.isqrt(ANIMATED_PREVIEW_PIXELS // frames)))


def needs_preview(width: int, height: int, frames: int) -> bool:
    """Whether the original is too large to stand in for its preview (then one is made)."""
    return max(width, height) > preview_side(frames)


def _save_once(key: str, data: bytes) -> None:
    storage = artifact_storage()
    saved = storage.save(key, ContentFile(data))
    if saved != key:  # a concurrent writer of the same bytes won; drop the renamed copy
        storage.delete(saved)


def _preview_bytes(data: bytes, picture: Image.Image | None = None) -> bytes | None:
    """A WebP for pages, or None when the original is small enough to be shown as it is.

    A still picture fits PREVIEW_SIDE; an animation keeps every frame and its timing, each frame
    fitting ANIMATED_PREVIEW_SIDE, so it plays in place without the full-size bytes."""
    with Image.open(io.BytesIO(data)) as img:
        frames = getattr(img, "n_frames", 1)
        if not needs_preview(img.width, img.height, frames):
            return None
        buf = io.BytesIO()
        if frames == 1:
            if picture is not None:
                still = picture.copy()
            else:
                img.draft("RGB", (PREVIEW_SIDE, PREVIEW_SIDE))  # JPEG decodes at a fraction of the size
                still = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB")
            if still.mode not in ("RGB", "RGBA"):
                still = still.convert("RGBA")
            still.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
            still.save(buf, "WEBP", quality=82, method=2)
            return buf.getvalue()
        side = preview_side(frames)
        shrunk: list[Image.Image] = []
        durations: list[int] = []
        for index in range(frames):
            img.seek(index)
            frame = img.convert("RGBA")
            frame.thumbnail((side, side))
            shrunk.append(frame)
            durations.append(int(img.info.get("duration", 100)) or 100)
        shrunk[0].save(
            buf,
            "WEBP",
            save_all=True,
            append_images=shrunk[1:],
            duration=durations,
            loop=int(img.info.get("loop", 0)),
            quality=75,
            method=2,
        )
        return buf.getvalue()


def ensure_preview(sha256: str, data: bytes, media_type: str, picture: Image.Image | None = None) -> bool:
    """Write the page preview of stored bytes unless present or not needed; True when the preview
    URL then serves a bounded picture (its own, or the original, small enough to be its preview).

    Made when the bytes are stored, like the thumbnail, never when it is asked for. `picture` is
    the first frame's pixels, used for a still picture only (an animation's frames are decoded)."""
    if media_type not in IMAGE_MEDIA_TYPES:
        return False
    key = preview_key(sha256)
    if artifact_storage().exists(key):
        return True
    try:
        preview = _preview_bytes(data, picture)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        log.warning("No preview for artifact %s: %s", sha256, exc)
        return False
    if preview is not None:
        _save_once(key, preview)
    return True


def _thumbnail_bytes(data: bytes, picture: Image.Image | None = None) -> bytes:
    """A small WebP of the first frame, for lists: from `picture` (those pixels, already decoded) if given."""
    if picture is not None:
        small = picture.convert("RGB") if picture.mode != "RGB" else picture.copy()
    else:
        with Image.open(io.BytesIO(data)) as img:
            img.seek(0)
            img.draft("RGB", (THUMB_SIDE, THUMB_SIDE))  # JPEG decodes at a fraction of the size
            small = img.convert("RGB")
    small.thumbnail((THUMB_SIDE, THUMB_SIDE))
    buf = io.BytesIO()
    small.save(buf, "WEBP", quality=80, method=2)  # 2.5× faster than the default 4, the same size here
    return buf.getvalue()


def ensure_thumbnail(sha256: str, data: bytes, media_type: str, picture: Image.Image | None = None) -> bool:
    """Write the thumbnail of stored bytes unless present; True when it exists afterwards.

    Made when the bytes are stored, never when it is asked for (a GET writes nothing).
    A picture Pillow cannot read keeps no thumbnail: the thumbnail URL serves the
    original instead, so this never fails the store."""
    if media_type not in IMAGE_MEDIA_TYPES:
        return False
    storage, key = artifact_storage(), thumb_key(sha256)
    if storage.exists(key):
        return True
    try:
        small = _thumbnail_bytes(data, picture)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("No thumbnail for artifact %s: %s", sha256, exc)
        return False
    _save_once(key, small)
    return True


def ensure_renditions(sha256: str, data: bytes, media_type: str, picture: Image.Image | None = None) -> None:
    """The thumbnail (lists) and the preview (pages) of stored bytes, each unless present."""
    ensure_thumbnail(sha256, data, media_type, picture)
    ensure_preview(sha256, data, media_type, picture)


def store_file(
    data: bytes,
    *,
    media_type: str,
    extension: str,
    width: int,
    height: int,
    frames: int = 1,
    kind: str = Artifact.Kind.OUTPUT,
    actor: User | None = None,
    thumbnail: bool = True,
) -> Artifact:
    """Store bytes once under their hash and return their artifact.

    Most bytes are new (generated outputs), so nothing is looked up first: the file is
    written unless present, its thumbnail made unless present, and the row inserted
    unless present. When the bytes were stored before, the returned row's content
    fields are the stored row's; its kind and author may differ and are not saved. With
    `thumbnail=False` the caller makes the thumbnail and preview itself (ensure_renditions)."""
    sha = hashlib.sha256(data).hexdigest()
    key = key_for(sha, extension)
    storage = artifact_storage()
    if not storage.exists(key):
        saved = storage.save(key, ContentFile(data))
        if saved != key:  # a backend that renamed instead of overwriting would break addressing
            raise RuntimeError(f"Storage saved {key} as {saved}; configure it not to rename files.")
    if thumbnail:
        ensure_renditions(sha, data, media_type)
    row = Artifact(
        sha256=sha,
        storage_key=key,
        media_type=media_type,
        size=len(data),
        width=width,
        height=height,
        frames=frames,
        kind=kind,
        created_by=actor,
    )
    # ON CONFLICT DO NOTHING: a concurrent writer of the same bytes made the same row.
    Artifact.objects.bulk_create([row], ignore_conflicts=True)
    return row


def store_generated(generated: GeneratedFile, *, thumbnail: bool = True) -> Artifact:
    return store_file(
        generated.data,
        media_type=generated.media_type,
        extension=generated.extension,
        width=generated.width,
        height=generated.height,
        frames=generated.frames,
        thumbnail=thumbnail,
    )


def read_artifact(artifact: Artifact) -> bytes:
    with artifact_storage().open(artifact.storage_key, "rb") as f:
        return f.read()


def _refuse(code: str, message: str) -> ValidationFailed:
    return ValidationFailed([Problem(code, "file", message)])


def _too_large(size: int) -> ValidationFailed:
    return _refuse("file_too_large", f"The file is {size} bytes; the limit is {MAX_UPLOAD_BYTES}.")


def read_upload(upload: UploadedFile) -> bytes:
    """The bytes of an uploaded file for `ingest_upload`, read with a bound: a declared size over
    the limit is refused before anything is read, and the read stops one byte past the limit
    (so a file that under-declares its size is still refused, by ingest_upload)."""
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise _too_large(upload.size)
    return upload.read(MAX_UPLOAD_BYTES + 1)


def ingest_upload(data: bytes, *, actor: User) -> Artifact:
    """Check an uploaded image against the limits, re-encode it as PNG and store it.

    Re-encoding drops metadata and anything smuggled after the image data, so
    what is stored is exactly a picture."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large(len(data))
    if not data:
        raise _refuse("empty_file", "The file is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format or ""
                width, height = probe.size
                if fmt not in UPLOAD_FORMATS:
                    raise _refuse(
                        "unsupported_type", f"{fmt or 'This'} files are not accepted; upload PNG, JPEG, WebP or GIF."
                    )
                if width * height > MAX_UPLOAD_PIXELS or max(width, height) > MAX_UPLOAD_SIDE:
                    raise _refuse(
                        "too_many_pixels",
                        f"{width}×{height} is larger than {MAX_UPLOAD_SIDE} px a side or {MAX_UPLOAD_PIXELS} pixels.",
                    )
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                rgb = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse("not_an_image", "The file is not an image Floniks can read.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise _refuse("corrupt_image", f"The image is damaged or truncated ({exc}).") from None
    buf = io.BytesIO()
    rgb.save(buf, "PNG", compress_level=6)
    return store_file(
        buf.getvalue(),
        media_type="image/png",
        extension="png",
        width=rgb.width,
        height=rgb.height,
        kind=Artifact.Kind.REFERENCE,
        actor=actor,
    )
