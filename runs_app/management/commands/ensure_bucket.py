"""Create the S3 bucket that artifact storage is configured with, unless it exists: a deployment's set-up step."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs_app.buckets import NotS3, artifact_bucket


class Command(BaseCommand):
    help = (
        "Create the S3 bucket named by S3_BUCKET if it does not exist (safe to run again). "
        "Fails when S3 is not configured or the endpoint refuses."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--wait",
            type=int,
            default=0,
            metavar="SECONDS",
            help="Keep trying this long while the S3 endpoint cannot be reached (it may still be starting).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            bucket = artifact_bucket()
        except NotS3 as error:
            raise CommandError(str(error)) from None
        endpoint = bucket.storage.endpoint_url or "AWS"
        deadline = time.monotonic() + max(options["wait"], 0)
        while True:
            try:
                created = bucket.ensure()
                break
            except ClientError as error:  # the endpoint answered, and said no: waiting will not help
                details = error.response.get("Error", {})
                raise CommandError(
                    f"S3 at {endpoint} refused bucket {bucket.name!r}: {details.get('Code')} {details.get('Message', '')}".strip()
                ) from None
            except BotoCoreError as error:
                if time.monotonic() >= deadline:
                    raise CommandError(f"Cannot reach S3 at {endpoint}: {error}") from None
                time.sleep(1)
        verb = "Created" if created else "Found"
        self.stdout.write(f"{verb} bucket {bucket.name!r} at {endpoint}.")
