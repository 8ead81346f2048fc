"""Re-check every approved version record: a reproducibility audit after a model update."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from runs_app import services
from runs_app.models import ReproductionCheck, Verdict, VersionRecord


class Command(BaseCommand):
    help = "Reproduce every approved record and report the verdicts (exit 1 if any differs or cannot run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as", dest="username", required=True, help="The operator the reproductions run as.")
        parser.add_argument(
            "--accept-model-drift", action="store_true", help="Reproduce drifted records with today's models."
        )
        parser.add_argument("--wait", type=int, default=0, metavar="SECONDS", help="Wait this long for the verdicts.")
        parser.add_argument("--workflow", help="Only this workflow's records.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = get_user_model().objects.filter(username=options["username"]).first()
        if actor is None:
            raise CommandError(f"No user {options['username']!r}.")
        records = (
            VersionRecord.objects.filter(approved_at__isnull=False)
            .select_related("workflow")
            .order_by("workflow__slug", "number")
        )
        if options["workflow"]:
            records = records.filter(workflow__slug=options["workflow"])
        started, problems = [], 0
        for record in records:
            try:
                run = services.reproduce_record(
                    actor=actor, record=record, accept_model_drift=options["accept_model_drift"]
                )
                started.append((record, run.pk))
                self.stdout.write(f"{record.workflow.slug} {record.label}: reproducing as run {run.pk}")
            except DomainError as exc:
                problems += 1
                self.stdout.write(
                    self.style.WARNING(f"{record.workflow.slug} {record.label}: {exc.code}: {exc.message}")
                )
        if options["wait"]:
            problems += self._wait(started, options["wait"])
        self.stdout.write(f"{len(started)} reproduction(s) started, {problems} problem(s).")
        if problems:
            raise SystemExit(1)

    def _wait(self, started: list[tuple[VersionRecord, Any]], seconds: int) -> int:
        deadline = time.monotonic() + seconds
        pending = {run_id for _record, run_id in started}
        while pending and time.monotonic() < deadline:
            done = ReproductionCheck.objects.filter(run_id__in=pending).exclude(verdict=Verdict.PENDING)
            pending -= set(done.values_list("run_id", flat=True))
            time.sleep(0.5)
        bad = len(pending)
        for record, run_id in started:
            check = ReproductionCheck.objects.get(run_id=run_id)
            ok = check.verdict in (Verdict.EXACT, Verdict.NEAR)
            bad += 0 if ok or check.verdict == Verdict.PENDING else 1
            scores = "; ".join(check.scores_shown)
            self.stdout.write(
                f"{record.workflow.slug} {record.label}: {check.verdict}" + (f" ({scores})" if scores else "")
            )
        return bad
