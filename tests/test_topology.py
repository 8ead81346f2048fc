"""The production topology of docker-compose.yml, started as processes (containers cannot be pulled here):
a fresh database migrated by the one-shot step, the bucket made by `ensure_bucket` on a real S3 server
(moto's, on loopback), static files collected as the image build does, gunicorn with gunicorn.conf.py,
a Celery worker with --max-memory-per-child (which sweeps on a thread of its own: no beat). DEBUG=0, HTTPS redirects on behind a
trusted proxy, every secret read from a file. Then: /healthz, one workflow run end to end through the
API, the output in the bucket, the container health-check commands, and /healthz naming the storage
once the S3 server is gone."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from testing.services import free_port, wait_for_port
from testing.worker import CeleryWorker
from tests.helpers import small_definition

pytestmark = pytest.mark.worker

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "floniks-topology"
S3_KEY_ID, S3_SECRET = "topology-key", "topology-secret-key"
# What the test runner exports that this stack must not inherit: it gets its own values, from files.
INHERITED = [
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "ALLOWED_HOSTS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
]
HTTPS = {"X-Forwarded-Proto": "https"}  # as the TLS proxy in front would add


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer to check, not to follow


# Straight to the loopback server: no redirects followed, no proxy from the environment.
OPENER = urllib.request.build_opener(_NoRedirects, urllib.request.ProxyHandler({}))


def deadline_loop(timeout: float, what: str, interval: float = 0.25) -> Iterator[None]:
    """Yield until `timeout` seconds have passed, then fail naming what never happened."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        yield
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what}")


@dataclass
class Process:
    """A long-running process in a session of its own (a stop reaches its children), logging to a file."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(
                self.args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_output(self, pattern: str, timeout: float) -> None:
        for _ in deadline_loop(timeout, f"{self.name} to log {pattern!r}:\n{self.output()[-4000:]}"):
            if re.search(pattern, self.output()):
                return
            assert self.popen is not None and self.popen.poll() is None, f"{self.name} exited:\n{self.output()}"

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(30)


@dataclass
class Stack:
    env: dict[str, str]
    tmp: Path
    s3_endpoint: str
    processes: dict[str, Process] = field(default_factory=dict)
    worker: CeleryWorker | None = None
    web_port: int = 0

    def manage(self, *args: str, timeout: float = 300, **overrides: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **overrides},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, name: str, *args: str) -> Process:
        process = Process(name, list(args), self.env, self.tmp / f"{name}.log").start()
        self.processes[name] = process
        return process

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        sent = {**(headers or {})}
        data = None
        if body is not None:
            data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
        if token:
            sent["Authorization"] = f"Token {token}"
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.web_port}{path}", data=data, headers=sent, method=method
        )
        try:
            with OPENER.open(request, timeout=30) as response:
                status, raw, got = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, raw, got = error.code, error.read(), dict(error.headers)
        is_json = got.get("Content-Type", "").startswith("application/json")
        return status, json.loads(raw) if is_json and raw else raw, got

    def api(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        status, payload, _ = self.request(method, path, body, token, HTTPS)
        return status, payload


@pytest.fixture
def s3_server(tmp_path: Path) -> Iterator[tuple[str, Process]]:
    port = free_port()
    server = shutil.which("moto_server") or os.path.join(os.path.dirname(sys.executable), "moto_server")
    moto = Process("s3", [server, "-H", "127.0.0.1", "-p", str(port)], dict(os.environ), tmp_path / "s3.log")
    moto.start()
    try:
        wait_for_port(port, 30)
        yield f"http://127.0.0.1:{port}", moto
    finally:
        moto.stop()


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """An empty database on the test PostgreSQL server, dropped afterwards: migrate starts from nothing."""
    server = os.environ["DATABASE_URL"]
    name = f"floniks_topology_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_url(db: int) -> str:
    return urlunsplit(urlsplit(os.environ["CELERY_BROKER_URL"])._replace(path=f"/{db}"))


@pytest.fixture
def stack(tmp_path: Path, s3_server: tuple[str, Process], fresh_database: str) -> Iterator[Stack]:
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    secrets = {
        "SECRET_KEY": "topology-" + uuid.uuid4().hex * 2,
        "DATABASE_URL": fresh_database,
        "CELERY_BROKER_URL": redis_url(2),  # databases of their own on the test Redis
        "CACHE_URL": redis_url(3),
        "S3_ACCESS_KEY_ID": S3_KEY_ID,
        "S3_SECRET_ACCESS_KEY": S3_SECRET,
    }
    files = {}
    for name, value in secrets.items():
        (secrets_dir / name).write_text(value + "\n")
        files[f"{name}_FILE"] = str(secrets_dir / name)
    env = {
        **{k: v for k, v in os.environ.items() if k not in INHERITED},
        **files,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "BEHIND_TLS_PROXY": "1",
        "TRUSTED_PROXIES": "127.0.0.1",
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": s3_server[0],
        "S3_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "FLONIKS_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "FLONIKS_SWEEP_SECONDS": "2",
        "WEB_CONCURRENCY": "2",
        "DJANGO_SETTINGS_MODULE": "floniks.settings",
    }
    stack = Stack(env, tmp_path, s3_server[0])
    try:
        yield stack
    finally:
        if stack.worker is not None:
            stack.worker.stop()
        for process in stack.processes.values():
            process.stop()


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )


def test_the_compose_topology_from_scratch(stack, s3_server):
    endpoint, moto = s3_server
    s3 = s3_client(endpoint)

    # One-shot set-up, in compose's order.
    migrated = stack.manage("migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    not_s3 = stack.manage("ensure_bucket", S3_BUCKET="")
    assert not_s3.returncode != 0 and "not S3. Set S3_BUCKET" in not_s3.stderr
    created = stack.manage("ensure_bucket", "--wait", "30")
    assert created.returncode == 0 and f"Created bucket '{BUCKET}'" in created.stdout, created.stderr
    again = stack.manage("ensure_bucket")
    assert again.returncode == 0 and f"Found bucket '{BUCKET}'" in again.stdout, again.stderr
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]
    collected = stack.manage("collectstatic", "--noinput", "-v0")
    assert collected.returncode == 0, collected.stderr

    # The long-running services.
    stack.web_port = free_port()
    web = stack.start("web", sys.executable, "-m", "gunicorn", "floniks.wsgi", "--bind", f"127.0.0.1:{stack.web_port}")
    stack.worker = CeleryWorker(
        {**stack.env, **{k: "" for k in INHERITED if k not in stack.env}},
        concurrency=1,
        extra_args=("--max-memory-per-child", "1048576"),  # compose's value, in KiB
    )
    stack.worker.start(timeout=90)  # kept on the stack first, so a worker that never gets ready is stopped too
    wait_for_port(stack.web_port, 60)

    # A load balancer's probe: plain HTTP, no credentials, not redirected although HTTPS is enforced.
    status, body, _ = stack.request("GET", "/healthz")
    assert (status, body) == (200, {"database": "ok", "broker": "ok", "storage": "ok"})
    status, _, headers = stack.request("GET", "/public/")
    assert status == 301 and headers["Location"].startswith("https://")

    # Sign in for a token (the throttle counts in Redis), then a workflow end to end.
    created_user = stack.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import Group, User;"
        "u = User.objects.create_user('tess-topology', password='pw-tess-topology-9');"
        "u.groups.add(Group.objects.get(name='operator'))",
    )
    assert created_user.returncode == 0, created_user.stderr
    status, body, _ = stack.request(
        "POST", "/api/auth/token/", {"username": "tess-topology", "password": "pw-tess-topology-9"}, headers=HTTPS
    )
    assert status == 200, body
    token = body["token"]
    assert stack.api("POST", "/api/workflows/", token, {"slug": "topology", "name": "Topology"})[0] == 201
    status, draft = stack.api(
        "POST", "/api/workflows/topology/drafts/", token, {"definition": small_definition(width=128, height=96)}
    )
    assert status == 201, draft
    status, version = stack.api("POST", f"/api/drafts/{draft['id']}/publish/", token, {"visibility": "internal"})
    assert status == 201, version
    status, run = stack.api(
        "POST", "/api/runs/", token, {"workflow": "topology", "inputs": {"subject": "a lighthouse"}}
    )
    assert status == 201, run
    for _ in deadline_loop(120, f"the run to wait for annotation:\n{stack.worker.output()}"):
        current = stack.api("GET", f"/api/runs/{run['id']}/", token)[1]
        assert current["status"] not in ("failed", "cancelled"), current
        if current["status"] == "awaiting_annotation":
            break
    status, _ = stack.api(
        "POST", f"/api/runs/{run['id']}/finalize/", token, {"label": "from scratch", "annotation": "compose topology"}
    )
    assert status == 202
    for _ in deadline_loop(60, "the record to be written"):
        record_id = stack.api("GET", f"/api/runs/{run['id']}/", token)[1]["record_id"]
        if record_id:
            break
    status, record = stack.api("GET", f"/api/records/{record_id}/", token)
    assert status == 200 and record["label"] == "v1-from-scratch" and set(record["outputs"]) == {"hero"}

    # The output is in the bucket, under its content address, and its bytes hash to it.
    sha = record["outputs"]["hero"]["sha256"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    stored = [key for key in keys if sha in key and key.startswith("artifacts/")]
    assert len(stored) == 1, keys
    assert any(key.startswith(f"thumbs/{sha[:2]}/{sha}") for key in keys), "its thumbnail was made when stored"
    assert hashlib.sha256(s3.get_object(Bucket=BUCKET, Key=stored[0])["Body"].read()).hexdigest() == sha

    # The access log names the client the trusted proxy forwarded.
    stack.request("GET", "/healthz", headers={"X-Forwarded-For": "203.0.113.7"})
    web.wait_for_output(r'forwarded-for="203\.0\.113\.7".*"GET /healthz HTTP/1\.1" 200', 10)

    # The compose health-check commands, against these processes.
    checks = {
        "web": [sys.executable, "scripts/healthcheck.py", "web", "--port", str(stack.web_port)],
        "worker": [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "floniks",
            "inspect",
            "ping",
            "--destination",
            stack.worker.name.replace("%h", os.uname().nodename),
            "--timeout",
            "10",
        ],
    }
    for name, command in checks.items():
        result = subprocess.run(command, cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{name} health check: {result.stdout}{result.stderr}"

    # The S3 server goes away: the probe says which part failed.
    moto.stop()
    status, body, _ = stack.request("GET", "/healthz")
    assert (status, body) == (503, {"database": "ok", "broker": "ok", "storage": "error"})
    failing_web = subprocess.run(checks["web"], cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=60)
    assert failing_web.returncode == 1 and '"storage": "error"' in failing_web.stderr
