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
network's upscale made on the CPU.
"""

from __future__ import annotations

import copy
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from runs_app import execution
from runs_app import services as runs
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

    def handle(self, *args: Any, **options: Any) -> None:
        passwords = self._accounts()
        if not Workflow.objects.filter(slug="campaign-a").exists():
            self.stdout.write("Loading the demo workspace (the built-in generators make real images)…")
            self._workspace()
        self.stdout.write(self.style.SUCCESS("\nDemo accounts (sign in at /accounts/login/):"))
        for username, password in passwords.items():
            self.stdout.write(f"  {username:<9} {password}")
        self.stdout.write("")

    def _accounts(self) -> dict[str, str]:
        store = Path(settings.VAR_DIR) / "demo-accounts.txt"
        known = (
            dict(line.split(" ", 1) for line in store.read_text().splitlines() if " " in line) if store.exists() else {}
        )
        User = get_user_model()
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
        self._record(
            operator, base, "a red fox in tall grass", "first brief", "Initial exploration from the client brief."
        )

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
