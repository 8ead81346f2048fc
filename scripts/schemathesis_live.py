"""Fuzz the API through its own OpenAPI schema on a live server, as operator, manager and admin.

`make schemathesis` runs this inside `testing.run` (its own PostgreSQL and Redis):
migrate, build a small world (a public workflow, a direction, drafts, a finished run
with a reference image, records, runs in flight), serve it with gunicorn as in
production (DEBUG off), then run schemathesis once per role. Path parameters and a
few body fields draw real ids half the time, so operations reach real objects as
well as 404s. Exits non-zero on any failure.

SCHEMATHESIS_EXAMPLES (default 50) sets the examples per operation."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ACCESS_LOG = ROOT / "test-output" / "schemathesis-access.log"
ROLES = ("operator", "manager", "admin")
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,ignored_auth,unsupported_method"
)
# The server runs as in production: DEBUG off (no debug pages), plain HTTP on loopback.
SERVER_ENV = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "SECURE_HSTS_SECONDS": "0",
    "WEB_CONCURRENCY": "2",
    "LOG_LEVEL": "WARNING",
}


def reference_definition() -> dict[str, Any]:
    """The suite's small two-step workflow, restyling the reference image input as well as the plate."""
    from tests.helpers import small_definition

    definition = small_definition()
    definition["steps"][1]["params"].update({"image": "{{inputs.reference}}", "prompt": "{{inputs.subject}}"})
    definition["outputs"]["plate"] = "{{steps.background.output}}"
    return definition


def build_world() -> dict[str, list[Any]]:
    """Users with tokens and a little of everything; returns the real ids by parameter."""
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from PIL import Image
    from rest_framework.authtoken.models import Token

    from runs_app import execution
    from runs_app import services as runs
    from runs_app.models import Run
    from templates_app import services as templates

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)  # as production does: pages (404 too) need the manifest
    users = {}
    for role in ROLES:
        user = User.objects.create_user(username=f"fuzz-{role}", password=f"pw-fuzz-{role}-not-secret")
        user.groups.add(Group.objects.get(name=role))
        users[role] = user
    operator, manager = users["operator"], users["manager"]

    png = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(png, "PNG")
    reference = runs.upload_artifact(actor=operator, data=png.getvalue())

    workflow = templates.create_workflow(actor=operator, slug="campaign-a", name="Campaign A", description="Autumn")
    draft = templates.save_draft(actor=manager, workflow=workflow, definition=reference_definition())
    version = templates.publish_draft(actor=manager, draft=draft, visibility="public", channel="standard", bump=None)
    direction = templates.derive_direction(
        actor=operator, base=workflow, slug="campaign-a-cool", name="Cool", direction_label="Cool"
    )
    open_draft = templates.save_draft(actor=operator, workflow=workflow, definition=reference_definition())

    def executed(subject: str) -> Run:
        run = runs.start_run(actor=operator, workflow=workflow, inputs={"subject": subject, "reference": reference.pk})
        execution.run_inline(run.pk, worker="schemathesis-setup")
        return Run.objects.get(pk=run.pk)

    records = []
    for subject in ("a fox", "a hare"):
        run = executed(subject)
        runs.finalize_run(actor=operator, run=run, label=subject, annotation="made for the fuzzer")
        record = runs.write_record(run_id=run.pk)
        assert record is not None
        records.append(record)
    awaiting = executed("an owl")  # left awaiting annotation: finalize and cancel have something to act on
    queued = runs.start_run(actor=operator, workflow=workflow, inputs={"subject": "a lynx"})

    tokens = {role: Token.objects.create(user=user).key for role, user in users.items()}
    outputs = [o["sha256"] for r in records for o in r.outputs.values()]
    return {
        "tokens": [tokens[r] for r in ROLES],
        "slug": [workflow.slug, direction.slug],
        "version": [version.version],
        "draft_id": [draft.pk, open_draft.pk, *direction.drafts.values_list("pk", flat=True)],
        "run_id": [str(records[0].run_id), str(awaiting.pk), str(queued.pk)],
        "record_id": [str(r.pk) for r in records],
        "manifest_hash": [version.manifest_hash],
        "sha256": [reference.pk, *outputs],
        "family": ["local/plasma"],
        "snapshot": ["2026-04-21"],
    }


def _toml_list(values: list[Any]) -> str:
    return "[" + ", ".join(str(v) if isinstance(v, int) else f'"{v}"' for v in values) + "]"


def config(world: dict[str, list[Any]]) -> str:
    """Real ids half the time, per operation where a parameter name means different things."""
    lines = []
    for name in ("slug", "version", "draft_id", "run_id", "record_id", "manifest_hash", "sha256", "family", "snapshot"):
        lines += [f"[dictionaries.{name}]", f"values = {_toml_list(world[name])}", ""]
    lines += [
        "[parameters]",
        '"path.slug" = { dictionary = "slug", probability = 0.5 }',
        '"path.version" = { dictionary = "version", probability = 0.5 }',
        '"path.manifest_hash" = { dictionary = "manifest_hash", probability = 0.5 }',
        '"path.sha256" = { dictionary = "sha256", probability = 0.5 }',
        '"path.family" = { dictionary = "family", probability = 0.5 }',
        '"path.snapshot" = { dictionary = "snapshot", probability = 0.5 }',
        '"body.workflow" = { dictionary = "slug", probability = 0.5 }',
        '"body.pin_record" = { dictionary = "record_id", probability = 0.5 }',
        '"query.a" = { dictionary = "record_id", probability = 0.5 }',
        '"query.b" = { dictionary = "record_id", probability = 0.5 }',
        "",
    ]
    for prefix, dictionary in (("/api/drafts/", "draft_id"), ("/api/runs/", "run_id"), ("/api/records/", "record_id")):
        lines += [
            "[[operations]]",
            f'include-path-regex = "^{prefix}"',
            f'parameters = {{ "path.id" = {{ dictionary = "{dictionary}", probability = 0.5 }} }}',
            "",
        ]
    # Revoking the fuzzer's own token would leave every later request 401 (tests/test_tokens.py covers DELETE).
    lines += ["[[operations]]", 'include-path = "/api/auth/token/"', 'include-method = "DELETE"', "enabled = false", ""]
    return "\n".join(lines)


def wait_for(url: str, seconds: float) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=60):  # the first schema is built on demand
                return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def main() -> int:
    if "DATABASE_URL" not in os.environ:
        print("Run inside testing.run: python -m testing.run -- python scripts/schemathesis_live.py", file=sys.stderr)
        return 2
    os.environ.update(SERVER_ENV)
    # Production settings want a shared cache (the sign-in limiter): the private Redis's second database.
    os.environ.setdefault("CACHE_URL", os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "floniks.settings")
    sys.path.insert(0, str(ROOT))
    from testing.services import free_port

    examples = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "50"))
    world = build_world()
    port = free_port()
    python = sys.executable
    ACCESS_LOG.parent.mkdir(exist_ok=True)
    ACCESS_LOG.unlink(missing_ok=True)
    gunicorn = [python, "-m", "gunicorn", "floniks.wsgi", "--bind", f"127.0.0.1:{port}", "--timeout", "60"]
    server = subprocess.Popen(
        [*gunicorn, "--access-logfile", str(ACCESS_LOG)],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    failed = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/api/schema/?format=json", 60)
        with tempfile.TemporaryDirectory() as tmp:
            config_file = Path(tmp) / "schemathesis.toml"
            config_file.write_text(config(world))
            for role, token in zip(ROLES, world["tokens"], strict=True):
                print(f"\n=== schemathesis as {role}: {examples} examples per operation ===", flush=True)
                command = [
                    str(Path(python).with_name("schemathesis")),
                    "--config-file",
                    str(config_file),
                    "run",
                    f"{base}/api/schema/?format=json",
                    "--checks",
                    CHECKS,
                    "--max-examples",
                    str(examples),
                    "--header",
                    f"Authorization: Token {token}",
                    "--workers",
                    "2",
                    "--seed",
                    "1",
                    # `family@snapshot` paths (a family holds "/") leave Hypothesis few valid examples to draw;
                    # that is a limit of generation, not an answer of the API.
                    "--suppress-health-check",
                    "filter_too_much",
                    "--no-color",
                    "--report",
                    "junit",
                    "--report-junit-path",
                    str(ROOT / "test-output" / f"schemathesis-{role}.xml"),
                ]
                if subprocess.call(command, cwd=tmp) != 0:  # its cache stays out of the tree
                    failed.append(role)
    finally:
        server.terminate()
        server.wait(30)
    answers = Counter(re.findall(r'" (\d{3}) ', ACCESS_LOG.read_text())) if ACCESS_LOG.exists() else Counter()
    print("\nAnswers by status:", ", ".join(f"{code}: {n}" for code, n in sorted(answers.items())))
    print(f"schemathesis: {len(ROLES)} roles × {examples} examples per operation; failed roles: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
