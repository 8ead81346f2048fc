"""The `floniks` command-line tool end to end: a subprocess against a live server and a real worker."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from runs_app.models import Run, VersionRecord
from tests.helpers import small_definition

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def floniks(tmp_path: Path, live_server: Any) -> Any:
    """Run `floniks …` as a user would, with its own config directory."""
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHONPATH": str(ROOT / "clients" / "python"),
    }
    env.pop("FLONIKS_URL", None)
    env.pop("FLONIKS_TOKEN", None)

    def call(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "floniks_cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
        )

    call.url = live_server.url
    call.config = tmp_path / "config" / "floniks" / "config.json"
    return call


def test_login_run_download_finalize_and_reproduce(
    floniks: Any, worker: Any, operator: User, make_workflow: Any, publish: Any, tmp_path: Path
) -> None:
    publish(make_workflow("teaser"), small_definition())

    login = floniks("login", floniks.url, "-u", operator.username, "--password-stdin", stdin="pw-olivia-operator\n")
    assert login.returncode == 0, login.stderr
    assert stat.S_IMODE(floniks.config.stat().st_mode) == 0o600  # the token is the user's alone
    assert "Logged in" in login.stdout

    listed = floniks("workflows", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [w["slug"] for w in json.loads(listed.stdout)] == ["teaser"]

    out = tmp_path / "out"
    run = floniks("run", "teaser", "-i", "subject=a red fox", "--wait", "--download", str(out))
    assert run.returncode == 0, run.stderr
    assert "progress 100%" in run.stderr and "awaiting_annotation" in run.stderr
    written = sorted(out.iterdir())
    assert [p.name for p in written] == ["hero.png"]
    stored = Run.objects.get()
    assert stored.inputs == {"subject": "a red fox"}
    hero = hashlib.sha256(written[0].read_bytes()).hexdigest()
    assert hero == stored.outputs_by_name()["hero"].sha256

    final = floniks("finalize", str(stored.pk), "--label", "fox", "--annotation", "the client's pick", "--json")
    assert final.returncode == 0, final.stderr
    assert json.loads(final.stdout)["id"] == str(stored.pk)
    record = VersionRecord.objects.get(run=stored) if _wait_record(stored) else None
    assert record is not None

    again = floniks("reproduce", str(record.pk), "--wait", "--json")
    assert again.returncode == 0, again.stderr
    answer = json.loads(again.stdout)
    assert answer["reproduces"] == str(record.pk)
    assert record.checks.get().verdict == "exact"


def _wait_record(run: Run) -> bool:
    from tests.helpers import wait_for

    wait_for(lambda: VersionRecord.objects.filter(run=run).exists(), timeout=60, what="the record")
    return True


def test_errors_are_one_line_with_the_servers_message_and_distinct_exit_codes(
    floniks: Any, operator: User, make_workflow: Any, publish: Any
) -> None:
    publish(make_workflow("teaser"), small_definition())
    not_logged_in = floniks("workflows")
    assert not_logged_in.returncode == 3
    assert not_logged_in.stderr.startswith("floniks: error: Not logged in")

    wrong = floniks("login", floniks.url, "-u", operator.username, "--password-stdin", stdin="not-the-password\n")
    assert wrong.returncode == 1
    assert not floniks.config.exists()

    floniks("login", floniks.url, "-u", operator.username, "--password-stdin", stdin="pw-olivia-operator\n")
    unknown_input = floniks("run", "teaser", "-i", "subject=fox", "-i", "mood=grim")
    assert unknown_input.returncode == 1
    assert unknown_input.stderr.count("\n") == 1  # one line
    assert "mood" in unknown_input.stderr and "HTTP 400" in unknown_input.stderr
    assert not Run.objects.exists()  # nothing started

    no_such = floniks("run", "no-such-workflow", "-i", "subject=fox")
    assert no_such.returncode == 1 and "HTTP 404" in no_such.stderr

    bad_usage = floniks("run", "teaser", "-i", "no-equals-sign")
    assert bad_usage.returncode == 2 and "key=value" in bad_usage.stderr

    unreachable = subprocess.run(
        [sys.executable, "-m", "floniks_cli", "workflows"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "clients" / "python"), "FLONIKS_URL": "http://127.0.0.1:9"}
        | {"FLONIKS_TOKEN": "x", "XDG_CONFIG_HOME": "/nonexistent"},
        timeout=60,
    )
    assert unreachable.returncode == 5 and "Cannot reach the server" in unreachable.stderr
