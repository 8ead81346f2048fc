"""Create the demo accounts (and a sample workflow) so a newcomer sees a living product.

Passwords are generated on first run, kept in var/demo-accounts.txt (never in
the repository) and printed every time.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from templates_app import services
from templates_app.models import Workflow

ACCOUNTS = [("admin", "admin"), ("manager", "manager"), ("operator", "operator")]

DEMO_DEFINITION = {
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


class Command(BaseCommand):
    help = "Create demo accounts (admin, manager, operator) and a sample workflow; print the logins."

    def handle(self, *args: Any, **options: Any) -> None:
        passwords = self._accounts()
        self._sample_workflow()
        self.stdout.write(self.style.SUCCESS("\nDemo accounts (sign in at /admin/ or with POST /api/auth/token/):"))
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

    @transaction.atomic
    def _sample_workflow(self) -> None:
        if Workflow.objects.filter(slug="campaign-a").exists():
            return
        operator = get_user_model().objects.get(username="operator")
        workflow = services.create_workflow(
            actor=operator, slug="campaign-a", name="Campaign A", description="Autumn brand campaign hero images."
        )
        draft = services.save_draft(actor=operator, workflow=workflow, definition=DEMO_DEFINITION)
        services.publish_draft(actor=operator, draft=draft, visibility="internal")
