"""Make the list thumbnails and page previews that artifacts stored before they were made at store time lack."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from runs_app.models import Artifact
from runs_app.storage import (
    IMAGE_MEDIA_TYPES,
    artifact_storage,
    ensure_preview,
    ensure_thumbnail,
    needs_preview,
    preview_key,
    read_artifact,
    thumb_key,
)


class Command(BaseCommand):
    help = (
        "Make every missing artifact thumbnail and preview "
        "(safe to run again; reads each image lacking one of them once)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        storage = artifact_storage()
        thumbs = previews = failed = 0
        for artifact in Artifact.objects.filter(media_type__in=IMAGE_MEDIA_TYPES).order_by("pk").iterator():
            lacks_thumb = not storage.exists(thumb_key(artifact.sha256))
            # A picture small enough to be its own preview never gets one: its row says so without a read.
            lacks_preview = needs_preview(artifact.width, artifact.height, artifact.frames) and not storage.exists(
                preview_key(artifact.sha256)
            )
            if not (lacks_thumb or lacks_preview):
                continue
            data = read_artifact(artifact)
            ok = True
            if lacks_thumb:
                made = ensure_thumbnail(artifact.sha256, data, artifact.media_type)
                thumbs += made
                ok &= made
            if lacks_preview:
                made = ensure_preview(artifact.sha256, data, artifact.media_type)
                previews += made
                ok &= made
            failed += not ok
        self.stdout.write(
            f"Made {thumbs} thumbnails and {previews} previews; {failed} images could not be read "
            "(a stand-in is served for them)."
        )
