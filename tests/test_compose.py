"""docker-compose.yml, .dockerignore and the secrets script keep the promises the process-topology
test cannot check (containers cannot run here): pinned images, set-up before start, health checks,
secrets only from files, nothing private in the image."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
APP = ["web", "worker", "worker-gpu"]
SECRET_SETTINGS = [
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_image_is_pinned_to_an_exact_version():
    for name, service in compose()["services"].items():
        image = service.get("image", "")
        if "build" in service:
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest" and re.search(r"\d+\.\d+|RELEASE\.", tag), (name, image)


def test_web_and_workers_wait_for_migrations_and_the_bucket():
    services = compose()["services"]
    assert "migrate --noinput" in services["migrate"]["command"]
    assert "ensure_bucket" in services["bucket"]["command"]
    for name in APP:
        needs = services[name]["depends_on"]
        assert needs["migrate"] == {"condition": "service_completed_successfully"}, name
        assert needs["bucket"] == {"condition": "service_completed_successfully"}, name
        assert "migrate" not in str(services[name]["command"]), f"{name} must not migrate on its own"


def test_every_long_running_service_has_a_health_check():
    for name, service in compose()["services"].items():
        if name in ("migrate", "bucket"):
            continue
        assert service["healthcheck"]["test"], name


def test_a_service_that_dies_is_started_again_and_one_shot_set_up_is_not():
    """A worker killed by a broker outage or a crash comes back on its own (restart policy, through the
    x-app anchor for the app services); the runs it left are finished by the sweep."""
    services = compose()["services"]
    for name, service in services.items():
        if name in ("migrate", "bucket"):
            assert service["restart"] == "no", name
            continue
        assert service.get("restart") in ("unless-stopped", "always"), f"{name} is not restarted when it dies"
    for name in APP:
        # The process itself is the container's main process (no shell in between that would outlive it).
        command = services[name]["command"]
        assert not str(command).startswith(("sh ", "bash ")), name


def test_workers_are_recycled_and_throttling_counts_in_redis():
    services = compose()["services"]
    assert "--max-memory-per-child" in services["worker"]["command"]
    assert services["web"]["environment"]["CACHE_URL_FILE"] == "/run/secrets/cache_url"


def test_app_secrets_come_only_from_files():
    services = compose()["services"]
    for name in [*APP, "migrate", "bucket"]:
        environment = services[name]["environment"]
        for setting in SECRET_SETTINGS:
            assert setting not in environment, f"{name} sets {setting} in plain environment"
            path = environment[f"{setting}_FILE"]
            assert path.removeprefix("/run/secrets/") in services[name]["secrets"], (name, setting)


def test_the_image_leaves_out_secrets_local_state_and_history():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for pattern in [".env", "secrets/", "var/", ".git", ".venv/", "test-output/", ".pytest_cache/"]:
        assert pattern in ignored, pattern


def test_the_secrets_script_writes_every_secret_compose_mounts_once(tmp_path):
    script = [sys.executable, str(ROOT / "scripts" / "compose_secrets.py"), "--dir", str(tmp_path)]
    subprocess.run(script, check=True, capture_output=True, timeout=60)
    written = {path.name: path.read_text().strip() for path in tmp_path.iterdir()}
    assert set(written) == set(compose()["secrets"])
    assert f":{written['postgres_password']}@postgres:5432/" in written["database_url"]
    assert f":{written['redis_password']}@redis:6379/0" in written["broker_url"]
    assert f":{written['redis_password']}@redis:6379/1" in written["cache_url"]
    subprocess.run(script, check=True, capture_output=True, timeout=60)
    assert {path.name: path.read_text().strip() for path in tmp_path.iterdir()} == written  # kept, not rotated


def test_the_images_collectstatic_step_runs_with_exactly_the_dockerfiles_environment(tmp_path):
    """The build runs `collectstatic` with DEBUG=0 and only what its RUN line sets: the settings must
    load from that alone (a setting made mandatory in production once broke the image build)."""
    lines = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    run = next((line for line in lines if line.startswith("RUN ") and "collectstatic" in line), None)
    assert run, "the Dockerfile no longer collects static files"
    words = run.split("&&")[0].split()
    env = dict(w.split("=", 1) for w in words if re.fullmatch(r"[A-Z_]+=\S*", w))
    assert env.get("DEBUG") == "0"
    env["FLONIKS_VAR_DIR"] = str(tmp_path)  # the build's /tmp/build-var, here
    command = words[words.index("manage.py") - 1 :]
    command[0] = sys.executable
    done = subprocess.run(command, cwd=ROOT, env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert list((tmp_path / "staticfiles").rglob("base*.css")), "nothing was collected"


def test_a_second_worker_serves_a_queue_of_its_own_and_nothing_runs_beat():
    """Steps go to their provider's queue: the default worker takes only the default queue, the second
    only its own; sweeping is done by the workers themselves, so there is no beat to keep alive."""
    services = compose()["services"]
    assert "-Q floniks" in services["worker"]["command"]
    assert "-Q ${GPU_QUEUE:-gpu}" in services["worker-gpu"]["command"]
    assert "beat" not in services and not any("beat" in str(s.get("command", "")) for s in services.values())
    assert "FLONIKS_PROVIDER_QUEUES" in services["worker-gpu"]["environment"]
