"""P4 — serving (DESIGN §12): the record page and the API record detail under
wrk (Debian's package, installed when missing) against gunicorn.

    .venv/bin/python bench/p4_serving.py [--rounds 3] [--seconds 10] [--connections 16] [--workers N]
gunicorn runs as deployed, with the repo's gunicorn.conf.py (one worker per core
unless WEB_CONCURRENCY or --workers says otherwise).
Goals: ≥ 300 req/s and p95 ≤ 100 ms for each.
"""

from __future__ import annotations

import argparse
import os
import re
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _env import ROOT, start_services, user

LUA = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %f %f %d %d\\n", summary.requests / (summary.duration / 1e6),
                         latency:percentile(95) / 1000, summary.errors.status + summary.errors.connect,
                         summary.requests))
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or "wrk"


def cpu_seconds(parent: int) -> float:
    """CPU time (user + system) used so far by the processes whose parent is `parent`: gunicorn's workers."""
    total = 0
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == parent:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run_wrk(
    wrk: str, script: str, args: argparse.Namespace, header: str, url: str, seconds: int | None = None
) -> tuple[float, float, int, int]:
    out = subprocess.run(
        [wrk, "-t2", f"-c{args.connections}", f"-d{seconds or args.seconds}s", "-H", header, "-s", script, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"RESULT ([\d.]+) ([\d.]+) (\d+) (\d+)", out)
    assert found, out
    return float(found.group(1)), float(found.group(2)), int(found.group(3)), int(found.group(4))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, help="override gunicorn.conf.py's worker count")
    args = parser.parse_args()
    wrk = ensure_wrk()
    env = start_services()

    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from composition.management.commands.load_demo import DEMO_DEFINITION
    from runs_app import execution, services
    from templates_app import services as templates
    from testing.services import free_port, wait_for_port

    operator = user("operator")
    workflow = templates.create_workflow(actor=operator, slug="bench-p4", name="P4")
    templates.publish_draft(
        actor=operator, draft=templates.save_draft(actor=operator, workflow=workflow, definition=DEMO_DEFINITION)
    )
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"})
    execution.run_inline(run.pk, worker="bench")
    services.finalize_run(actor=operator, run=run, label="bench", annotation="serving benchmark")
    record = services.write_record(run_id=run.pk)
    assert record is not None
    token = Token.objects.create(user=operator).key
    session = SessionStore()
    session["_auth_user_id"], session["_auth_user_backend"] = (
        str(operator.pk),
        settings.AUTHENTICATION_BACKENDS[0],
    )
    session["_auth_user_hash"] = operator.get_session_auth_hash()
    session.create()

    port = free_port()
    server_env = {
        **os.environ,
        **env,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "CACHE_URL": env["REDIS_URL"],  # DEBUG=0 refuses a per-process cache
    }
    static_root = tempfile.mkdtemp(prefix="floniks-static-")
    server_env["STATIC_ROOT"] = static_root
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=server_env, check=True
    )
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "floniks.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            *(["--workers", str(args.workers)] if args.workers else []),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=server_env,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(LUA)
    try:
        wait_for_port(port, 60)
        time.sleep(1)
        targets = [
            ("record page", f"/records/{record.pk}/", f"Cookie: {settings.SESSION_COOKIE_NAME}={session.session_key}"),
            ("API record detail", f"/api/records/{record.pk}/", f"Authorization: Token {token}"),
        ]
        workers = args.workers or runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"]
        print(
            f"P4 serving: gunicorn {workers} workers, wrk {args.connections} connections, "
            f"{args.rounds} rounds × {args.seconds}s per target (goal ≥ 300 req/s, p95 ≤ 100 ms)"
        )
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _, _ in targets}
        for _, path, header in targets:  # warm every worker up (templates, catalogue, connections); not counted
            run_wrk(wrk, lua.name, args, header, f"http://127.0.0.1:{port}{path}", seconds=2)
        for round_no in range(1, args.rounds + 1):
            # Rounds alternate the targets: this shared VM drifts by ±15 % from minute to minute.
            # The workers' CPU time per request drifts less (about ±10 %), so it is printed too.
            print(f"  round {round_no}")
            for name, path, header in targets:
                cpu_before = cpu_seconds(gunicorn.pid)
                rate, p95, errors, requests = run_wrk(wrk, lua.name, args, header, f"http://127.0.0.1:{port}{path}")
                cpu_ms = (cpu_seconds(gunicorn.pid) - cpu_before) / max(requests, 1) * 1000
                results[name].append((rate, p95, cpu_ms))
                print(
                    f"    {name:<18} {rate:7.0f} req/s  p95 {p95:6.1f} ms  "
                    f"workers' CPU {cpu_ms:4.2f} ms/request  errors {errors}"
                )
        for name, figures in results.items():
            rates, p95s, cpus = (sorted(column) for column in zip(*figures, strict=True))
            print(
                f"  {name:<18} median {statistics.median(rates):5.0f} req/s (range {rates[0]:.0f}–{rates[-1]:.0f}), "
                f"p95 median {statistics.median(p95s):.1f} ms (range {p95s[0]:.1f}–{p95s[-1]:.1f}), "
                f"workers' CPU median {statistics.median(cpus):.2f} ms/request"
            )
    finally:
        gunicorn.terminate()
        gunicorn.wait(30)
        os.unlink(lua.name)
        shutil.rmtree(static_root, ignore_errors=True)


if __name__ == "__main__":
    main()
