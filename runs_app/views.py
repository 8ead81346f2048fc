"""The permanent artifact URL, /artifacts/<sha256>, its list thumbnail and its page preview.

Both answer the session (pages) and API tokens alike, so a script can download
every URL the API gave it. Artifacts belong to records and runs, which only the
team sees: anyone else gets a 404, as for something that does not exist."""

from __future__ import annotations

import re
from typing import Any

from django.core.files.storage import FileSystemStorage, Storage
from django.http import FileResponse, Http404, HttpResponseBase, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.roles import Role, role_of
from runs_app.models import Artifact
from runs_app.storage import IMAGE_MEDIA_TYPES, artifact_storage, needs_preview, preview_key, thumb_key

IMMUTABLE = "private, max-age=31536000, immutable"
UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")
OCTET_STREAM = "application/octet-stream"


def download_name(asked: str, key: str) -> str | None:
    """A file name a download may carry (`?download=`): the characters file systems and headers
    take, at most 150 of them, and always the stored file's own extension; None if nothing is left."""
    extension = key.rsplit(".", 1)[-1] if "." in key.rsplit("/", 1)[-1] else ""
    stem = UNSAFE_IN_NAME.sub("-", asked.rsplit(".", 1)[0] if asked.endswith(f".{extension}") else asked)
    stem = stem.strip("-.")[:150]
    if not stem:
        return None
    return f"{stem}.{extension}" if extension else stem


def _serve(storage: Storage, key: str, media_type: str, *, cache: str, download: str | None = None) -> HttpResponseBase:
    """The bytes (local storage) or a redirect to a short-lived bucket URL, under a safe type:
    only the image types Floniks stores are shown inline; anything else is a download, as is
    anything asked for under a `download` name."""
    safe = media_type if media_type in IMAGE_MEDIA_TYPES else OCTET_STREAM
    filename = download or key.rsplit("/", 1)[-1]
    inline = safe != OCTET_STREAM and download is None
    disposition = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    response: HttpResponseBase
    if isinstance(storage, FileSystemStorage):
        response = FileResponse(storage.open(key, "rb"), content_type=safe)
        response["Content-Disposition"] = disposition
        response["Cache-Control"] = cache
    else:
        try:  # S3: the bucket's answer carries the same type and disposition
            url = storage.url(key, parameters={"ResponseContentType": safe, "ResponseContentDisposition": disposition})  # type: ignore[call-arg]
        except TypeError:  # a backend whose url() takes no parameters
            url = storage.url(key)
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"  # the signed URL expires; the redirect must not outlive it
    return response


class _ArtifactView(APIView):
    # Visibility is this view's own rule (a 404 for outsiders, never 401/403), so no
    # permission class; an invalid token still answers 401 like every API view.
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]  # error answers only; the bytes go out as they are
    metadata_class = None  # OPTIONS answers 405 like any other method but GET and HEAD

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        # An <img> asks for image/*: answer JSON errors whatever the Accept header says.
        return super().perform_content_negotiation(request, force=True)

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        # Every answer, errors included, whatever SECURE_CONTENT_TYPE_NOSNIFF says.
        response = super().finalize_response(request, response, *args, **kwargs)
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def visible_artifact(self, request: Request, sha256: str) -> Artifact:
        if role_of(request.user) < Role.OPERATOR:
            raise Http404
        found = Artifact.objects.filter(sha256=sha256).first()
        if found is None:
            raise Http404
        return found


def _bytes_answer(description: str) -> dict[Any, Any]:
    return {
        (200, *sorted(IMAGE_MEDIA_TYPES), OCTET_STREAM): OpenApiResponse(OpenApiTypes.BINARY, description=description),
        302: OpenApiResponse(description="With bucket storage: a redirect to a short-lived signed URL of the bytes."),
    }


class ArtifactView(_ArtifactView):
    @extend_schema(
        summary="The bytes of an artifact (an output or a reference image)",
        description="Images are served inline under their own type; anything else as an "
        "`application/octet-stream` attachment. With `?download=<name>`, an attachment under that "
        "file name (letters, digits, `.`, `_` and `-`; the stored file's extension kept). Every answer "
        "has `X-Content-Type-Options: nosniff`.",
        parameters=[
            OpenApiParameter("download", str, description="Save as an attachment under this file name.", required=False)
        ],
        responses=_bytes_answer("The stored bytes; the URL never changes and the answer may be cached for good."),
        tags=["artifacts"],
    )
    def get(self, request: Request, sha256: str) -> HttpResponseBase:
        found = self.visible_artifact(request, sha256)
        asked = request.query_params.get("download")
        download = download_name(asked, found.storage_key) if asked else None
        response = _serve(artifact_storage(), found.storage_key, found.media_type, cache=IMMUTABLE, download=download)
        if response.status_code == 200:
            response["ETag"] = f'"{found.sha256}"'
        return response


class ThumbnailView(_ArtifactView):
    @extend_schema(
        summary="A small WebP of an artifact's first frame, for lists",
        description="Thumbnails are made when the artifact is stored. Until one exists (an image "
        "Floniks could not shrink, or one stored before thumbnails were made: "
        "`manage.py make_thumbnails`), this serves the original image, uncached, so a list still shows "
        "the picture; an artifact that is not an image has no thumbnail (404).",
        responses=_bytes_answer("A WebP at most 240 px a side, or the original while there is none."),
        tags=["artifacts"],
    )
    def get(self, request: Request, sha256: str) -> HttpResponseBase:
        found = self.visible_artifact(request, sha256)
        storage = artifact_storage()
        key = thumb_key(found.sha256)
        if storage.exists(key):
            return _serve(storage, key, "image/webp", cache=IMMUTABLE)
        if found.media_type not in IMAGE_MEDIA_TYPES:
            raise Http404("This artifact is not a picture; it has no thumbnail.")
        # Nothing is written on a GET: the original stands in, and is asked for again next time.
        return _serve(storage, found.storage_key, found.media_type, cache="private, no-cache")


class PreviewView(_ArtifactView):
    @extend_schema(
        summary="A web-sized WebP of an artifact, for pages",
        description="Previews are made when the artifact is stored: a still picture fits 1024 px "
        "on its long side; an animation keeps its frames, each fitting 512 px, so it plays in place. "
        "An image already that small is its own preview (the original is served). Until a larger "
        "image has one (`manage.py make_thumbnails`), this serves its thumbnail, uncached, never "
        "the full-size original; an artifact that is not an image has no preview (404).",
        responses=_bytes_answer("A WebP at most 1024 px a side (512 for an animation), or a stand-in."),
        tags=["artifacts"],
    )
    def get(self, request: Request, sha256: str) -> HttpResponseBase:
        found = self.visible_artifact(request, sha256)
        storage = artifact_storage()
        key = preview_key(found.sha256)
        if storage.exists(key):
            return _serve(storage, key, "image/webp", cache=IMMUTABLE)
        if found.media_type not in IMAGE_MEDIA_TYPES:
            raise Http404("This artifact is not a picture; it has no preview.")
        if not needs_preview(found.width, found.height, found.frames):  # it never gets one: cache for good
            return _serve(storage, found.storage_key, found.media_type, cache=IMMUTABLE)
        # Nothing is written on a GET; a large original is never the stand-in (pages load previews
        # to avoid exactly that), the thumbnail is, or failing that the answer is a 404.
        if storage.exists(thumb_key(found.sha256)):
            return _serve(storage, thumb_key(found.sha256), "image/webp", cache="private, no-cache")
        raise Http404("This picture has no preview yet; its original is at the artifact URL.")


artifact = ArtifactView.as_view()
thumbnail = ThumbnailView.as_view()
preview = PreviewView.as_view()
