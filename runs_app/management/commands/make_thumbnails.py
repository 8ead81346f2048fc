"""Make the list thumbnails that artifacts stored before thumbnails were made at store time lack."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from runs_app.models import Artifact
from runs_app.storage import IMAGE_MEDIA_TYPES, artifact_storage, ensure_thumbnail, read_artifact, thumb_key


class Command(BaseCommand):
    help = "Make every missing artifact thumbnail (safe to run again; reads each image without a thumbnail once)."

    def handle(self, *args: Any, **options: Any) -> None:
        storage = artifact_storage()
        made = failed = 0
        for artifact in Artifact.objects.filter(media_type__in=IMAGE_MEDIA_TYPES).order_by("pk").iterator():
            if storage.exists(thumb_key(artifact.sha256)):
                continue
            if ensure_thumbnail(artifact.sha256, read_artifact(artifact), artifact.media_type):
                made += 1
            else:
                failed += 1
        self.stdout.write(f"Made {made} thumbnails; {failed} images could not be read (their originals are served).")
