"""Load a demo workspace so a newcomer sees a living product at once.

Accounts (admin, manager, operator) get passwords generated on first run, kept
in var/demo-accounts.txt (never in the repository) and printed every time. The
workspace: a base campaign with three creative directions, published versions,
finalised and annotated records made by the real generators, one direction
approved (its siblings archived, never deleted), a production pin, a
public brand-overlay workflow whose manifest anyone can read, and a storyboard
workflow with a gate: a cheap draft frame first, then (once someone presses
Continue) an upscale and a loop made side by side — one of its runs waits at
the gate — and a Real-ESRGAN workflow whose record shows a real neural
network's upscale made on the CPU. The evidence a team works with: a discovery
batch of six seeds on the base campaign (two finalised as records, the rest
discarded), a contact sheet of the base and its three directions, and a newer
base version evaluated against the canonical one and promoted with that
evaluation as evidence. Every record gets its C2PA-signed copies (the
development CA is made here first, as `make run` would make it after).
"""

from __future__ import annotations

import copy
import io
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs_app import execution
from runs_app import services as runs
from runs_app.models import RunStatus, VersionRecord
from runs_app.signing import SigningUnavailable
from templates_app import services
from templates_app.models import Workflow

STORYBOARD: dict[str, Any] = {
    "inputs": {"subject": {"type": "string", "required": True}},
    "steps": [
        {
            "id": "draft",
            "kind": "generate_image",
            "model": "local/plasma",
            "params": {"prompt": "{{inputs.subject}}, sunset palette", "width": 320, "height": 320, "steps": 12},
        },
        {
            "id": "hero",
            "kind": "upscale",
            "model": "local/plasma",
            "params": {"image": "{{steps.draft.output}}", "factor": 3},
            "policy": {"timeout_seconds": 120, "retries": 1},
        },
        {
            "id": "loop",
            "kind": "animate",
            "model": "local/aurora",
            "params": {"image": "{{steps.draft.output}}", "prompt": "{{inputs.subject}}, sunset", "frames": 16},
            "policy": {"timeout_seconds": 300},
        },
    ],
    "outputs": {"hero": "{{steps.hero.output}}", "loop": "{{steps.loop.output}}"},
    "policy": {"budget": {"max_seconds": 900}, "gates": [{"after": "draft"}]},
}

# A real neural network on the CPU: a small procedural frame made four times larger by Real-ESRGAN.
REAL_UPSCALE: dict[str, Any] = {
    "inputs": {"subject": {"type": "string", "required": True, "description": "What the frame shows."}},
    "steps": [
        {
            "id": "frame",
            "kind": "generate_image",
            "model": "local/aurora",
            "params": {"prompt": "{{inputs.subject}}, teal and amber", "width": 128, "height": 96, "steps": 12},
        },
        {
            "id": "sharp",
            "kind": "upscale",
            "model": "realesrgan/x4plus",
            "params": {"image": "{{steps.frame.output}}", "factor": 4},
        },
    ],
    "outputs": {"frame": "{{steps.frame.output}}", "upscaled": "{{steps.sharp.output}}"},
}

ACCOUNTS = [("admin", "admin"), ("manager", "manager"), ("operator", "operator")]

DEMO_DEFINITION: dict[str, Any] = {
    "inputs": {"subject": {"type": "string", "required": True}},
    "steps": [
        {
            "id": "background",
            "kind": "generate_image",
            "model": "local/plasma",
            "params": {"prompt": "{{inputs.subject}}, warm earthy palette", "width": 512, "height": 512},
        },
        {
            "id": "styled",
            "kind": "img2img",
            "model": "local/mosaic",
            "params": {"image": "{{steps.background.output}}", "strength": 0.4, "prompt": "film grain"},
        },
    ],
    "outputs": {"hero": "{{steps.styled.output}}"},
    "policy": {"budget": {"max_steps": 10}, "gates": []},
}

DIRECTIONS = [
    ("campaign-a-warm-earthy", "WarmEarthy", "warm earthy palette, golden hour"),
    ("campaign-a-cool-minimal", "CoolMinimal", "cool minimal palette, soft light"),
    ("campaign-a-vibrant-urban", "VibrantUrban", "vibrant urban palette, neon"),
]


def _with_prompt(prompt: str, size: int = 384) -> dict[str, Any]:
    d = copy.deepcopy(DEMO_DEFINITION)
    d["steps"][0]["params"].update(prompt="{{inputs.subject}}, " + prompt, width=size, height=size)
    d["steps"][1]["params"]["prompt"] = prompt + ", film grain"
    return d


class Command(BaseCommand):
    help = "Create demo accounts and a demo workspace (idempotent); print the logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Give demo passwords to existing admin/manager/operator accounts this command did not make "
            "(or whose passwords file was lost).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        passwords = self._accounts(reset=options["reset_passwords"])
        if not Workflow.objects.filter(slug="campaign-a").exists():
            self.stdout.write("Loading the demo workspace (the built-in generators make real images)…")
            self._workspace()
            self._sign_records()
        self.stdout.write(self.style.SUCCESS("\nDemo accounts (sign in at /accounts/login/):"))
        for username, password in passwords.items():
            self.stdout.write(f"  {username:<9} {password}")
        self.stdout.write("")

    def _accounts(self, *, reset: bool) -> dict[str, str]:
        store = Path(settings.VAR_DIR) / "demo-accounts.txt"
        known = (
            dict(line.split(" ", 1) for line in store.read_text().splitlines() if " " in line) if store.exists() else {}
        )
        User = get_user_model()
        strangers = [u for u, _ in ACCOUNTS if u not in known and User.objects.filter(username=u).exists()]
        if strangers and not reset:
            # Run against a real team's database, the demo would take over its admin's account.
            raise CommandError(
                f"Accounts named {', '.join(strangers)} already exist and were not made by load_demo; "
                "it changes nothing. Load the demo into a fresh database, or pass --reset-passwords "
                "to give them demo passwords."
            )
        for username, group in ACCOUNTS:
            password = known.get(username) or secrets.token_urlsafe(9)
            user, created = User.objects.get_or_create(username=username)
            if created or username not in known:
                user.set_password(password)
                user.save()
            user.groups.add(Group.objects.get(name=group))
            known[username] = password
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text("".join(f"{u} {p}\n" for u, p in known.items()))
        store.chmod(0o600)
        return known

    def _record(self, operator: Any, workflow: Workflow, subject: str, label: str, annotation: str) -> Any:
        run = runs.start_run(actor=operator, workflow=workflow, inputs={"subject": subject})
        execution.run_inline(run.pk, worker="load_demo")  # in-process: the demo needs no worker to load
        runs.finalize_run(actor=operator, run=run, label=label, annotation=annotation)
        return runs.write_record(run_id=run.pk)

    def _workspace(self) -> None:
        User = get_user_model()
        operator, manager = (User.objects.get(username=n) for n in ("operator", "manager"))

        overlay = services.create_workflow(
            actor=operator,
            slug="brand-overlay",
            name="Brand overlay",
            description="Stamps the brand treatment on a finished image.",
        )
        overlay_def = {
            "inputs": {"image": {"type": "image", "required": True}},
            "steps": [
                {
                    "id": "stamp",
                    "kind": "img2img",
                    "model": "local/aurora",
                    "params": {"image": "{{inputs.image}}", "prompt": "gold brand mark", "strength": 0.25},
                }
            ],
            "outputs": {"image": "{{steps.stamp.output}}"},
        }
        services.publish_draft(
            actor=manager,
            draft=services.save_draft(actor=manager, workflow=overlay, definition=overlay_def),
            visibility="public",
        )

        base = services.create_workflow(
            actor=operator,
            slug="campaign-a",
            name="Campaign A",
            description="Autumn brand campaign: hero images for digital placements.",
        )
        services.publish_draft(
            actor=operator,
            draft=services.save_draft(actor=operator, workflow=base, definition=_with_prompt("warm earthy palette")),
        )
        brief = self._record(
            operator, base, "a red fox in tall grass", "first brief", "Initial exploration from the client brief."
        )
        self._batch(operator, base)

        made = {}
        for slug, label, prompt in DIRECTIONS:
            direction = services.derive_direction(
                actor=operator, base=base, slug=slug, name=f"Campaign A — {label}", direction_label=label
            )
            draft = direction.drafts.get()
            services.update_draft(actor=operator, draft=draft, definition=_with_prompt(prompt))
            services.publish_draft(actor=operator, draft=draft)
            first = self._record(
                operator,
                direction,
                "a red fox in tall grass",
                f"{label.lower()} first",
                f"First take on the {label} direction.",
            )
            self._record(
                operator,
                direction,
                "a red fox at dusk",
                f"{label.lower()} dusk",
                f"{label}: client asked to try a dusk scene after the review call.",
            )
            made[slug] = (direction, first)

        real = services.create_workflow(
            actor=operator,
            slug="real-esrgan-upscale",
            name="Real-ESRGAN upscale",
            description="A small frame made four times larger by Real-ESRGAN, a real neural network on the CPU.",
        )
        services.publish_draft(
            actor=operator, draft=services.save_draft(actor=operator, workflow=real, definition=REAL_UPSCALE)
        )
        self._record(
            operator,
            real,
            "a glass greenhouse at night",
            "greenhouse x4",
            "Real-ESRGAN x4plus on the CPU: compare the frame with its upscale.",
        )

        storyboard = services.create_workflow(
            actor=operator,
            slug="storyboard",
            name="Storyboard",
            description="A cheap draft frame first; the hero upscale and the loop run only once it looks right.",
        )
        services.publish_draft(
            actor=operator, draft=services.save_draft(actor=operator, workflow=storyboard, definition=STORYBOARD)
        )
        paused = runs.start_run(actor=operator, workflow=storyboard, inputs={"subject": "a lighthouse"})
        execution.run_inline(paused.pk, worker="load_demo")  # stops at the gate: Continue is the visitor's to press

        # Before the approval, so the sheet shows every direction the team chose among.
        sheet = runs.make_contact_sheet(
            actor=operator, base=base, inputs={"subject": "a red fox in tall grass"}, seed=7
        )
        for cell in sheet.cells.all():
            execution.run_inline(cell.run_id, worker="load_demo")  # the last cell's end composes the grid

        warm, warm_first = made["campaign-a-warm-earthy"]
        runs.approve_record(actor=manager, record=warm_first)
        services.approve_direction(actor=manager, workflow=warm, reason="client approved WarmEarthy on the review call")
        runs.set_workflow_mode(
            actor=operator,
            workflow=warm,
            mode="production",
            pin_record=warm_first,
            reason="approved direction goes to production",
        )
        self._record(
            operator,
            warm,
            "a red fox in tall grass",
            "production hero",
            "Production run reproducing the approved hero for the campaign extension.",
        )
        self._evaluated_promotion(operator, manager, base, brief)

    def _batch(self, operator: Any, base: Workflow) -> None:
        """Six seeds of the base campaign: two picked as records, the rest set aside (not lost)."""
        batch = runs.start_batch(actor=operator, workflow=base, inputs={"subject": "a red fox in tall grass"}, count=6)
        batch_runs = list(batch.runs.order_by("created_at", "pk"))
        for run in batch_runs:
            execution.run_inline(run.pk, worker="load_demo")
        kept = {
            1: ("batch pick: low sun", "Seed 2 of the batch: the low sun the client liked."),
            4: ("batch pick: soft grass", "Seed 5 of the batch: softer grass, for the square placements."),
        }
        for position, run in enumerate(batch_runs):
            run.refresh_from_db()
            if run.status != RunStatus.AWAITING_ANNOTATION:
                continue  # a failed seed stays as it is: the batch page shows it
            if position in kept:
                label, annotation = kept[position]
                runs.finalize_run(actor=operator, run=run, label=label, annotation=annotation)
                runs.write_record(run_id=run.pk)
            else:
                runs.discard_run(actor=operator, run=run)

    def _evaluated_promotion(self, operator: Any, manager: Any, base: Workflow, brief: Any) -> None:
        """A gentler grain as a newer base version, compared with the canonical one on the first brief's
        inputs and seeds, then promoted with that evaluation as evidence (the pointer history links it)."""
        gentler = _with_prompt("warm earthy palette")
        gentler["steps"][1]["params"]["strength"] = 0.3
        candidate = services.publish_draft(
            actor=operator,
            draft=services.save_draft(
                actor=operator, workflow=base, definition=gentler, based_on=base.versions.order_by("sequence").first()
            ),
            message="Gentler film grain: the client found the first too harsh.",
        )
        evaluation = runs.evaluate_version(actor=manager, version=candidate, record=brief)
        execution.run_inline(evaluation.baseline_run_id, worker="load_demo")
        execution.run_inline(evaluation.candidate_run_id, worker="load_demo")  # the second's end compares them
        evaluation.refresh_from_db()
        if evaluation.is_done:
            services.promote_version(
                actor=manager, version=candidate, evidence=evaluation, reason="gentler grain, same composition"
            )

    def _sign_records(self) -> None:
        """The signed copies a record page lists, made here so a newcomer sees them before any worker
        runs. Without working credentials the records stay "signing pending" and the sweep signs them."""
        call_command("make_signing_cert", stdout=io.StringIO())  # what dev.py runs next is then a no-op
        try:
            for pk in VersionRecord.objects.values_list("pk", flat=True):
                runs.sign_record(record_id=pk)
        except SigningUnavailable as exc:
            self.stderr.write(f"The demo records are not signed yet ({exc}); the worker's sweep signs them.")
