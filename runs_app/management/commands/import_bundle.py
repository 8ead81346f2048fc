"""Import a record bundle made by `GET /api/records/<id>/bundle/` on another Floniks instance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from runs_app import services


class Command(BaseCommand):
    help = "Check every hash of a record bundle, then import it: workflow, version, artifacts and the record."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The bundle (.zip).")
        parser.add_argument("--as", dest="username", required=True, help="The admin the import is made as.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = get_user_model().objects.filter(username=options["username"]).first()
        if actor is None:
            raise CommandError(f"No user {options['username']!r}.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        try:
            with path.open("rb") as source:
                record = services.import_bundle(actor=actor, source=source)
        except DomainError as exc:
            details = "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in exc.problems)
            raise CommandError(f"{exc.code}: {details or exc.message}") from None
        self.stdout.write(
            f"Imported {record.origin['label']} of {record.origin_instance} as {record.label} "
            f"({record.workflow_id and record.version.workflow.slug}@{record.version.version}), record {record.pk}."
        )
