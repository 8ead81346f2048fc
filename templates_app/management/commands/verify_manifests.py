"""Re-hash every stored manifest and report any version whose bytes, definition
or hash no longer agree (evidence of tampering below the application)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from templates_app.manifest import canonical_bytes, content_hash
from templates_app.models import WorkflowVersion


def mismatches() -> list[str]:
    found = []
    rows = WorkflowVersion.objects.select_related("workflow").only(
        "version", "definition", "manifest", "manifest_hash", "workflow__slug"
    )
    for v in rows.iterator(chunk_size=500):
        name = f"{v.workflow.slug}@{v.version}"
        stored = v.manifest.encode("utf-8")
        if content_hash(stored) != v.manifest_hash:
            found.append(f"{name}: the manifest bytes hash to {content_hash(stored)}, not {v.manifest_hash}")
        try:
            recomputed = canonical_bytes(v.definition)
        except Exception as exc:  # a definition that no longer canonicalises is itself a finding
            found.append(f"{name}: the definition cannot be canonicalised ({exc})")
            continue
        if recomputed != stored:
            found.append(f"{name}: the definition no longer matches its manifest")
        elif json.loads(stored) != v.definition:
            found.append(f"{name}: the definition differs from the manifest")
    return found


class Command(BaseCommand):
    help = "Re-hash every stored manifest; exit 1 and list the versions that do not match."

    def handle(self, *args: Any, **options: Any) -> None:
        total = WorkflowVersion.objects.count()
        found = mismatches()
        for line in found:
            self.stdout.write(self.style.ERROR(line))
        if found:
            self.stdout.write(self.style.ERROR(f"{len(found)} mismatch(es) in {total} version(s)."))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"All {total} manifest(s) verified."))
