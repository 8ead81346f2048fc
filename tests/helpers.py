"""Builders and waits shared by the test modules. Test modules import from here (or use the
fixtures in conftest.py), never from each other."""

from __future__ import annotations

import copy
import io
import threading
from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from PIL import Image

from runs_app import execution, services
from runs_app.models import Run

VALID_DEFINITION: dict[str, Any] = {
    "inputs": {
        "subject": {"type": "string", "required": True},
        "reference": {"type": "image", "required": False},
    },
    "steps": [
        {
            "id": "background",
            "kind": "generate_image",
            "model": "local/plasma",
            "params": {
                "prompt": "{{inputs.subject}}, warm earthy palette",
                "negative_prompt": "",
                "guidance_scale": 7.5,
                "steps": 30,
                "width": 768,
                "height": 512,
                "scheduler": "euler",
            },
        },
        {
            "id": "styled",
            "kind": "img2img",
            "model": "local/plasma@2026-06-15",
            "params": {"image": "{{steps.background.output}}", "strength": 0.4, "prompt": "film grain"},
        },
    ],
    "outputs": {"hero": "{{steps.styled.output}}"},
    "policy": {"budget": {"max_steps": 10}, "gates": []},
}


def valid_definition() -> dict[str, Any]:
    return copy.deepcopy(VALID_DEFINITION)


SMALL: dict[str, Any] = {
    "inputs": {"subject": {"type": "string", "required": True}, "reference": {"type": "image", "required": False}},
    "steps": [
        {
            "id": "background",
            "kind": "generate_image",
            "model": "local/plasma",
            "params": {"prompt": "{{inputs.subject}}, warm earthy palette", "width": 96, "height": 64, "steps": 12},
        },
        {
            "id": "styled",
            "kind": "img2img",
            "model": "local/mosaic@2026-08-30",
            "params": {"image": "{{steps.background.output}}", "strength": 0.4, "prompt": "film grain"},
        },
    ],
    "outputs": {"hero": "{{steps.styled.output}}"},
}


def small_definition(**param_changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(SMALL)
    d["steps"][0]["params"].update(param_changes)
    return d


def run_now(run: Run) -> Run:
    """Execute a run in this process, exactly as a worker would."""
    execution.run_inline(run.pk, worker="test-process")
    return Run.objects.get(pk=run.pk)


def finished_record(
    actor: Any,
    workflow: Any,
    inputs: dict[str, Any] | None = None,
    label: str = "first look",
    annotation: str = "client asked for warmth",
) -> Any:
    run = run_now(services.start_run(actor=actor, workflow=workflow, inputs=inputs or {"subject": "a fox"}))
    services.finalize_run(actor=actor, run=run, label=label, annotation=annotation)
    record = services.write_record(run_id=run.pk)
    assert record is not None
    return record


def in_threads(count: int, work: Callable[[int], Any]) -> list[BaseException]:
    """Run work(0..count-1) in threads released together by a barrier; each closes its connection."""
    from django.db import connection

    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    return errors


def overlay_definition(prompt: str = "logo bottom right"):
    return {
        "inputs": {"image": {"type": "image", "required": True}},
        "steps": [
            {
                "id": "stamp",
                "kind": "img2img",
                "model": "local/aurora",
                "params": {"image": "{{inputs.image}}", "prompt": prompt, "strength": 0.3},
            }
        ],
        "outputs": {"image": "{{steps.stamp.output}}"},
    }


def slow_workflow(make_workflow, publish):
    """One genuinely slow step (a long, large animation) so a worker can be killed in the middle of it."""
    wf = make_workflow("slow", "Slow")
    d = small_definition()
    d["steps"].append(
        {
            "id": "motion",
            "kind": "animate",
            "model": "local/aurora",
            "params": {
                "prompt": "{{inputs.subject}} at dusk",
                "image": "{{steps.styled.output}}",
                "frames": 40,
                "width": 768,
                "height": 768,
                "steps": 60,
            },
        }
    )
    d["outputs"] = {"hero": "{{steps.styled.output}}", "loop": "{{steps.motion.output}}"}
    publish(wf, d)
    return wf


def png_bytes(size: tuple[int, int] = (40, 30), colour: tuple[int, int, int] = (200, 120, 40)) -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    buf.seek(0)
    buf.name = "photo.png"
    return buf


def worker_env() -> dict[str, str]:
    """The environment a worker needs to share this test's database, broker and files."""
    import os

    from django.conf import settings

    db = settings.DATABASES["default"]
    env = {"DJANGO_SETTINGS_MODULE": "floniks.settings"}
    if db["ENGINE"].endswith("postgresql"):
        env["DATABASE_URL"] = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {
        **env,
        "FLONIKS_VAR_DIR": str(settings.VAR_DIR),
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", ""),
    }


def purge_broker() -> None:
    import os

    import redis

    url = os.environ.get("CELERY_BROKER_URL", "")
    if url.startswith("redis"):
        redis.Redis.from_url(url).flushdb()


def wait_for(predicate: Callable[[], Any], timeout: float = 60, interval: float = 0.2, what: str = "condition") -> Any:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what}")


def definition_with_overlay() -> dict[str, Any]:
    """small_definition with a third step calling the brand-overlay workflow (overlay_definition)."""
    d = small_definition()
    d["steps"].append(
        {
            "id": "overlay",
            "kind": "subworkflow",
            "workflow": "brand-overlay",
            "inputs": {"image": "{{steps.styled.output}}"},
        }
    )
    d["outputs"] = {"hero": "{{steps.overlay.outputs.image}}"}
    return d


def every_url() -> list[tuple[str | None, str, list[str]]]:
    """(namespace, name, parameter names) of every pattern the resolver knows, includes walked.
    An unnamed pattern shows as '<unnamed PATTERN>' so the tables that must name it fail."""
    found: list[tuple[str | None, str, list[str]]] = []

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, p.namespace or namespace)
            elif isinstance(p, URLPattern):
                found.append((namespace, p.name or f"<unnamed {p.pattern}>", list(p.pattern.regex.groupindex)))

    walk(get_resolver().url_patterns, None)
    return found


class HostedStandIn:
    """The provider interface a fake hosted image API shares: no seed drift, a fingerprint, a cancel
    that only marks the handle; `answer` makes the image with the built-in generator."""

    takes_seed = True

    def fingerprint(self, family: str, snapshot: str) -> dict[str, str]:
        return {"provider": "acme", "model": f"{family}@{snapshot}"}

    def cancel(self, handle: Any) -> None:
        handle.mark_cancelled("cancelled")

    def answer(self, request: Any, progress: Any = None) -> Any:
        from runs_app.generators.base import StepRequest, no_progress
        from runs_app.generators.builtin import BuiltinProvider

        builtin = StepRequest(request.kind, "local/plasma", "2026-06-15", request.seed, request.params, request.images)
        return BuiltinProvider().generate(builtin, progress or no_progress)


def evidence_for(actor: Any, version: Any, inputs: dict[str, Any] | None = None) -> Any:
    """A finished evaluation of `version` against its workflow's canonical version, both runs run here
    as workers would: what promoting a version needs once its workflow has a canonical one (DESIGN §14).
    Without `inputs`, each required input of the canonical version gets a plain value (a small image
    uploaded for an image input)."""
    if inputs is None:
        canonical = version.workflow.__class__.objects.get(pk=version.workflow_id).canonical_version
        contract = (canonical.definition.get("inputs") or {}) if canonical else {}
        inputs = {}
        for name, spec in contract.items():
            if spec.get("required"):
                if spec.get("type") == "image":
                    inputs[name] = services.upload_artifact(actor=actor, data=png_bytes().getvalue()).sha256
                else:
                    inputs[name] = "a fox"
    evaluation = services.evaluate_version(actor=actor, version=version, inputs=inputs)
    run_now(evaluation.baseline_run)
    run_now(evaluation.candidate_run)
    evaluation.refresh_from_db()
    assert evaluation.is_done, evaluation.note
    return evaluation


def promote_with_evidence(actor: Any, version: Any, reason: str = "") -> Any:
    """Promote as a manager does: evaluate first, then promote with that evaluation as evidence."""
    from templates_app import services as templates

    return templates.promote_version(actor=actor, version=version, evidence=evidence_for(actor, version), reason=reason)


# --- record bundles (runs_app.bundles) --------------------------------------------------------


def bundle_of(record: Any) -> bytes:
    """The bundle `GET /api/records/<id>/bundle/` streams, as bytes."""
    from runs_app import bundles

    return b"".join(bundles.stream_bundle(bundles.export_plan(record)))


def zip_members(data: bytes) -> list[tuple[str, bytes]]:
    """Every member of a zip as written (names unsanitised, duplicates kept), in order."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(info.orig_filename, z.read(info)) for info in z.infolist()]


def rebundle(
    data: bytes,
    *,
    edit: Callable[[dict[str, Any]], None] | None = None,
    replace: dict[str, bytes] | None = None,
    add: list[tuple[str, bytes]] | None = None,
    resum: bool = True,
) -> bytes:
    """A bundle rewritten: record.json edited, members replaced or added, and SHA256SUMS computed
    again over what it then holds (`resum=False` keeps the original sums, so a change shows)."""
    import hashlib
    import warnings
    import zipfile

    members = zip_members(data)
    if edit is not None:
        members = [(n, _edited(b, edit) if n == "record.json" else b) for n, b in members]
    members = [(n, (replace or {}).get(n, b)) for n, b in members] + list(add or [])
    if resum:
        sums = "".join(f"{hashlib.sha256(b).hexdigest()}  {n}\n" for n, b in members if n != "SHA256SUMS")
        members = [(n, sums.encode() if n == "SHA256SUMS" else b) for n, b in members]
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        warnings.simplefilter("ignore")  # duplicate names are what some tests are about
        for name, body in members:
            z.writestr(name, body)
    return out.getvalue()


def _edited(raw: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    import json

    document = json.loads(raw)
    edit(document)
    return json.dumps(document).encode()


def foreign_bundle(data: bytes, *, slug: str = "campaign-elsewhere", instance: str = "studio-b.example") -> bytes:
    """The same record as if made on another instance, in a workflow this one does not have."""
    import uuid

    def elsewhere(document: dict[str, Any]) -> None:
        document["instance"] = instance
        document["record"]["id"] = str(uuid.uuid4())
        document["record"]["workflow"] = slug
        document["versions"][0]["workflow"] = slug
        document["versions"][0]["name"] = "Campaign elsewhere"

    return rebundle(data, edit=elsewhere)
