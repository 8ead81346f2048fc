"""Create the development C2PA signing credentials (a CA and an ES256 signer it issued) unless present."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from runs_app.signing import make_development_credentials


class Command(BaseCommand):
    help = (
        "Create a development CA and an ES256 C2PA signing certificate it issued (var/c2pa by default), "
        "unless they exist. For development only: production names a real certificate in settings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", default=str(settings.C2PA_DIR), help="Where to write them (default: %(default)s).")

    def handle(self, *args: Any, **options: Any) -> None:
        made = make_development_credentials(Path(options["dir"]))
        self.stdout.write(f"C2PA development CA {made.ca}, signer chain {made.chain}, key {made.key}")
