"""Make the difference images of reproduction checks compared before they were made with the verdict."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from runs_app import services
from runs_app.models import ReproductionCheck, Verdict


class Command(BaseCommand):
    help = (
        "Make the missing difference images of finished reproduction checks "
        "(safe to run again; checks that have them are left as they are)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        lacking = ReproductionCheck.objects.filter(
            differences={}, run__isnull=False, verdict__in=(Verdict.EXACT, Verdict.NEAR, Verdict.DIFFERENT)
        ).order_by("pk")
        made = skipped = 0
        for check in lacking.iterator():
            if services.make_difference_images(check=check):
                made += 1
            else:
                skipped += 1
        self.stdout.write(f"Made the difference images of {made} checks; {skipped} had none to make.")
