"""The `floniks` command-line tool end to end: a subprocess against a live server and a real worker."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from runs_app.models import Artifact, Run, VersionRecord
from runs_app.storage import read_artifact
from tests.helpers import small_definition, wait_for

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

    bundle = floniks("bundle", str(record.pk), "-o", str(tmp_path / "fox.zip"))
    assert bundle.returncode == 0, bundle.stderr
    with zipfile.ZipFile(tmp_path / "fox.zip") as z:
        assert "SHA256SUMS" in z.namelist() and "manifest.json" in z.namelist()

    # The worker signs the record's outputs after it is written; the signed copy verifies, the original
    # (no manifest) does not.
    wait_for(lambda: VersionRecord.objects.for_detail().get(pk=record.pk).signed_outputs, what="the signed copy")
    signed_sha = VersionRecord.objects.for_detail().get(pk=record.pk).signed_outputs["hero"]["sha256"]
    signed = tmp_path / "hero-signed.png"
    signed.write_bytes(read_artifact(Artifact.objects.get(sha256=signed_sha)))
    trusted = floniks("verify", str(signed))
    assert trusted.returncode == 0, trusted.stderr
    assert "hero-signed.png: trusted" in trusted.stdout and record.label in trusted.stdout
    plain = floniks("verify", str(written[0]), "--json")
    assert plain.returncode == 1 and json.loads(plain.stdout)["state"] == "none"


def test_a_batch_of_seeds_and_a_refused_sweep(
    floniks: Any, worker: Any, operator: User, make_workflow: Any, publish: Any
) -> None:
    publish(make_workflow("teaser"), small_definition())
    floniks("login", floniks.url, "-u", operator.username, "--password-stdin", stdin="pw-olivia-operator\n")
    batch = floniks("batch", "teaser", "-i", "subject=an owl", "--count", "3", "--wait", "--json")
    assert batch.returncode == 0, batch.stderr
    runs = json.loads(batch.stdout)["runs"]
    assert len(runs) == 3 and all(r["status"] == "awaiting_annotation" for r in runs)
    assert len({r["seeds"]["background"] for r in runs}) == 3  # fresh seeds

    swept = floniks("batch", "teaser", "-i", "subject=an owl", "--sweep", "styled.strength=0.2,0.6")
    assert swept.returncode == 0, swept.stderr
    assert sorted(Run.objects.exclude(swept={}).values_list("swept__styled.strength", flat=True)) == [0.2, 0.6]

    before = Run.objects.count()
    bad = floniks("batch", "teaser", "-i", "subject=an owl", "--sweep", "styled.strength=0.2,lots")
    assert bad.returncode == 1 and "HTTP 400" in bad.stderr and "strength" in bad.stderr
    assert Run.objects.count() == before  # nothing started


def _wait_record(run: Run) -> bool:
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
