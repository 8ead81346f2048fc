"""The permanent artifact URL, /artifacts/<sha256>, and list thumbnails."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.views.decorators.http import require_GET
from PIL import Image

from core.roles import Role, role_of
from runs_app.models import Artifact
from runs_app.storage import artifact_storage, read_artifact


@require_GET
def artifact(request: HttpRequest, sha256: str) -> HttpResponseBase:
    """Serve the bytes (local storage) or redirect to a short-lived bucket URL (S3).

    Artifacts belong to records and runs, which only the team sees; anyone else
    gets a 404, as for something that does not exist."""
    if role_of(request.user) < Role.OPERATOR:
        raise Http404
    found = Artifact.objects.filter(sha256=sha256).first()
    if found is None:
        raise Http404
    storage = artifact_storage()
    if isinstance(storage, FileSystemStorage):
        response = FileResponse(storage.open(found.storage_key, "rb"), content_type=found.media_type)
        response["ETag"] = f'"{found.sha256}"'
        response["Cache-Control"] = "private, max-age=31536000, immutable"
        response["Content-Disposition"] = f'inline; filename="{found.storage_key.rsplit("/", 1)[-1]}"'
        return response
    return HttpResponseRedirect(storage.url(found.storage_key))


THUMB_SIDE = 240


@require_GET
def thumbnail(request: HttpRequest, sha256: str) -> HttpResponseBase:
    """A small WebP of an artifact's first frame for lists; made once, then kept in storage."""
    if role_of(request.user) < Role.OPERATOR:
        raise Http404
    found = Artifact.objects.filter(sha256=sha256).first()
    if found is None:
        raise Http404
    storage = artifact_storage()
    key = f"thumbs/{sha256[:2]}/{sha256}-{THUMB_SIDE}.webp"
    if not storage.exists(key):
        with Image.open(io.BytesIO(read_artifact(found))) as img:
            img.seek(0)
            small = img.convert("RGB")
            small.thumbnail((THUMB_SIDE, THUMB_SIDE))
            buf = io.BytesIO()
            small.save(buf, "WEBP", quality=80)
        if not storage.exists(key):
            storage.save(key, ContentFile(buf.getvalue()))
    with storage.open(key, "rb") as f:
        response = HttpResponse(f.read(), content_type="image/webp")
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
