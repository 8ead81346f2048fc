"""The permanent artifact URL, /artifacts/<sha256>, its list thumbnail and its page preview.

Both answer the session (pages) and API tokens alike, so a script can download
every URL the API gave it. Artifacts belong to records and runs, which only the
team sees: anyone else gets a 404, as for something that does not exist."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import FileSystemStorage, Storage
from django.http import FileResponse, Http404, HttpResponseBase, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.roles import Role, role_of
from runs_app.models import Artifact
from runs_app.storage import IMAGE_MEDIA_TYPES, artifact_storage, needs_preview, preview_key, thumb_key

IMMUTABLE = "private, max-age=31536000, immutable"
OCTET_STREAM = "application/octet-stream"


def _serve(storage: Storage, key: str, media_type: str, *, cache: str) -> HttpResponseBase:
    """The bytes (local storage) or a redirect to a short-lived bucket URL, under a safe type:
    only the image types Floniks stores are shown inline; anything else is a download."""
    safe = media_type if media_type in IMAGE_MEDIA_TYPES else OCTET_STREAM
    filename = key.rsplit("/", 1)[-1]
    disposition = f'{"inline" if safe != OCTET_STREAM else "attachment"}; filename="{filename}"'
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
        "`application/octet-stream` attachment. Every answer has `X-Content-Type-Options: nosniff`.",
        responses=_bytes_answer("The stored bytes; the URL never changes and the answer may be cached for good."),
        tags=["artifacts"],
    )
    def get(self, request: Request, sha256: str) -> HttpResponseBase:
        found = self.visible_artifact(request, sha256)
        response = _serve(artifact_storage(), found.storage_key, found.media_type, cache=IMMUTABLE)
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
