"""Memory of a worker running the largest chain the pixel limits allow (issue 11).

The chain is generate 2048×2048 (the largest `generate_image` size) → upscale ×2
(4096×4096, the default 16.8 Mpx limit) → img2img on 4096×4096. Each case runs in
a fresh process, as a Celery worker child would: the workflow is published through
the real gate (so it is allowed), the run started through the service and executed
by the engine. Prints the peak RSS of the process and its growth over the idle
process, against a reference chain at 1/4 of the pixels, as a ratio.

It also measures a too-large upload (default 300 MB) sent through the WSGI handler
to the API (`POST /api/artifacts/`) and to the run form, where refusing it must not
read it whole: the growth of the process there should stay far below the upload size.

    .venv/bin/python bench/memory_chain.py [--upload-mb 300] [--skip-upload]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_mb() -> float:
    """The process's peak resident set since start, or since the last reset_peak()."""
    return _status_mb("VmHWM")


def current_rss_mb() -> float:
    return _status_mb("VmRSS")


def reset_peak() -> None:
    """Start measuring the peak afresh from the current resident set (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # then the peak includes start-up; the figures say so by idle ≈ peak


def chain(side: int) -> dict[str, Any]:
    """generate side×side → upscale ×2 → img2img at 2·side."""
    return {
        "inputs": {"subject": {"type": "string", "required": True}},
        "steps": [
            {
                "id": "background",
                "kind": "generate_image",
                "model": "local/plasma",
                "params": {"prompt": "{{inputs.subject}}, warm earthy palette", "width": side, "height": side},
            },
            {
                "id": "bigger",
                "kind": "upscale",
                "model": "local/plasma",
                "params": {"image": "{{steps.background.output}}", "factor": 2},
            },
            {
                "id": "styled",
                "kind": "img2img",
                "model": "local/aurora",
                "params": {"image": "{{steps.bigger.output}}", "strength": 0.4, "prompt": "film grain"},
            },
        ],
        "outputs": {"hero": "{{steps.styled.output}}"},
    }


# --- child processes ---------------------------------------------------------------------------


def _django() -> None:
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent))
    import django

    django.setup()


def child_chain(side: int) -> dict[str, Any]:
    _django()
    from _env import user

    from runs_app import execution
    from runs_app import services as run_services
    from runs_app.models import Run
    from templates_app import services

    operator = user("operator")
    workflow = services.create_workflow(actor=operator, slug=f"chain-{side}", name=f"Chain {side}")
    draft = services.save_draft(actor=operator, workflow=workflow, definition=chain(side))
    services.publish_draft(actor=operator, draft=draft)  # the gate's pixel limits allow it
    run = run_services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"})
    idle = current_rss_mb()
    reset_peak()
    execution.run_inline(run.pk, worker="bench")
    run = Run.objects.get(pk=run.pk)
    assert run.status == "awaiting_annotation", (run.status, run.error)
    out = run.steps.get(step_id="styled").output
    return {"idle_mb": idle, "peak_mb": peak_rss_mb(), "output": f"{out.width}×{out.height}"}


def _multipart(path: str, field: str, size: int, extra: dict[str, str]) -> tuple[str, int]:
    """Write a multipart body with `size` bytes of file content to `path`, in chunks."""
    boundary = "floniksbenchboundary"
    with open(path, "wb") as f:
        for name, value in extra.items():
            f.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        f.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="big.png"\r\n'
            "Content-Type: image/png\r\n\r\n".encode()
        )
        f.write(b"\x89PNG\r\n\x1a\n")
        chunk = b"\0" * (1 << 20)
        left = size - 8
        while left > 0:
            f.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
        f.write(f"\r\n--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", os.path.getsize(path)


def child_upload(megabytes: int) -> dict[str, Any]:
    _django()
    from _env import user
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import Client

    from templates_app import services

    operator = user("operator")
    workflow = services.create_workflow(actor=operator, slug="upload-form", name="Upload form")
    definition = {
        "inputs": {"subject": {"type": "string", "required": True}, "reference": {"type": "image"}},
        "steps": [
            {
                "id": "styled",
                "kind": "img2img",
                "model": "local/plasma",
                "params": {"image": "{{inputs.reference}}", "prompt": "{{inputs.subject}}"},
            }
        ],
        "outputs": {"hero": "{{steps.styled.output}}"},
    }
    services.publish_draft(
        actor=operator, draft=services.save_draft(actor=operator, workflow=workflow, definition=definition)
    )
    client = Client()
    client.force_login(operator)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    csrf = "a" * 32
    handler = WSGIHandler()
    results: dict[str, Any] = {"upload_mb": megabytes}
    cases = {
        "api": ("/api/artifacts/", "file", {}),
        "run_form": (f"/workflows/{workflow.slug}/run/", "input_reference", {"input_subject": "fox"}),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, (url, field, extra) in cases.items():
            body = os.path.join(tmp, f"{name}.body")
            content_type, length = _multipart(body, field, megabytes << 20, extra)
            before = current_rss_mb()
            reset_peak()
            with open(body, "rb") as stream:
                environ = {
                    "REQUEST_METHOD": "POST",
                    "PATH_INFO": url,
                    "SERVER_NAME": "localhost",
                    "SERVER_PORT": "80",
                    "HTTP_HOST": "localhost",
                    "wsgi.url_scheme": "http",
                    "wsgi.input": stream,
                    "wsgi.errors": sys.stderr,
                    "CONTENT_TYPE": content_type,
                    "CONTENT_LENGTH": str(length),
                    "HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}",
                    "HTTP_X_CSRFTOKEN": csrf,
                }
                status: list[str] = []
                response = handler(environ, lambda s, h, *a, into=status: into.append(s))
                b"".join(response)
            results[name] = {
                "status": status[0] if status else "?",
                "peak_growth_mb": round(peak_rss_mb() - before, 1),
            }
    return results


# --- parent ------------------------------------------------------------------------------------


def run_child(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], env={**os.environ, **env}, capture_output=True, text=True
    )
    if out.returncode:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upload-mb", type=int, default=300)
    parser.add_argument("--skip-upload", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, value = args.child
        result = child_chain(int(value)) if kind == "chain" else child_upload(int(value))
        print(json.dumps(result))
        return

    sys.path.insert(0, str(HERE))
    from _env import start_services

    env = {k: v for k, v in start_services().items()}
    from django.conf import settings

    limit = settings.FLONIKS_MAX_STEP_PIXELS
    print(f"pixel limit per step: {limit:,} px ({limit / 1e6:.1f} Mpx)")
    largest, reference = run_child(env, "chain", "2048"), run_child(env, "chain", "1024")
    for name, r in (("largest chain (2048² → 4096² → 4096²)", largest), ("reference at 1/4 pixels", reference)):
        print(
            f"{name:42s} output {r['output']:>10s}  idle {r['idle_mb']:7.1f} MB  "
            f"peak RSS {r['peak_mb']:7.1f} MB  growth {r['peak_mb'] - r['idle_mb']:7.1f} MB"
        )
    growth = (largest["peak_mb"] - largest["idle_mb"]) / max(1.0, reference["peak_mb"] - reference["idle_mb"])
    print(
        f"peak RSS ratio largest/reference: {largest['peak_mb'] / reference['peak_mb']:.2f} (growth ratio {growth:.2f})"
    )
    if not args.skip_upload:
        upload = run_child(env, "upload", str(args.upload_mb))
        for case in ("api", "run_form"):
            r = upload[case]
            print(
                f"oversize upload of {args.upload_mb} MB to {case:8s}: {r['status']:<22s} peak RSS growth {r['peak_growth_mb']:7.1f} MB"
            )


if __name__ == "__main__":
    main()
