"""`make run` ends with a banner naming the URL, the demo logins and where they are kept (scripts/dev.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("floniks_dev_script", ROOT / "scripts" / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_banner_names_the_url_every_demo_login_and_the_file_that_keeps_them(tmp_path: Path) -> None:
    dev = _dev()
    store = tmp_path / "demo-accounts.txt"
    store.write_text("admin Adm-1x\nmanager Mgr 2y\noperator Op3z\n")

    accounts = dev.read_accounts(store)
    text = dev.banner("http://127.0.0.1:8765/", accounts, store)

    assert accounts == {"admin": "Adm-1x", "manager": "Mgr 2y", "operator": "Op3z"}
    assert "http://127.0.0.1:8765/" in text
    lines = text.splitlines()
    for username, password in accounts.items():
        assert any(line.split(None, 1) == [username, password] for line in lines), username
    assert str(store) in text
    assert "not said it is ready" not in text


def test_banner_without_accounts_says_how_to_make_them(tmp_path: Path) -> None:
    dev = _dev()
    store = tmp_path / "missing.txt"

    text = dev.banner("http://127.0.0.1:8000/", dev.read_accounts(store), store, worker_ready=False)

    assert "make demo" in text
    assert "not said it is ready" in text


def test_the_worker_counts_as_settled_only_after_its_ready_line_and_a_quiet_moment() -> None:
    dev = _dev()
    log = dev.WorkerLog()
    lines = [
        "[2026-11-29 22:09:06,545: INFO/MainProcess] Connected to filesystem://localhost//\n",
        "[2026-11-29 22:09:06,545: INFO/MainProcess] celery@vm ready.\n",
        "[2026-11-29 22:09:06,600: INFO/MainProcess] Task runs_app.tasks.execute_run[1] received\n",
    ]

    log.relay(iter(lines[:1]))
    assert log.ready_at is None
    assert not log.settled(log.last_line_at + 60)

    log.relay(iter(lines[1:]))
    assert log.ready_at is not None
    assert not log.settled(log.last_line_at)  # still talking
    assert log.settled(log.last_line_at + dev.QUIET_SECONDS)


def test_the_password_file_is_named_as_typed_in_the_repository(tmp_path: Path) -> None:
    dev = _dev()

    assert str(dev.shown(ROOT / "var" / "demo-accounts.txt")) == "var/demo-accounts.txt"
    assert dev.shown(tmp_path / "demo-accounts.txt") == tmp_path / "demo-accounts.txt"
