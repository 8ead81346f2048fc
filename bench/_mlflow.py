"""A local MLflow tracking server for the side-by-side benchmarks (P2, P3).

MLflow is installed from PyPI into its own virtualenv under var/bench/ (it must not
share Floniks' dependencies) and stores its runs in its own database on the
benchmark's PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _env import ROOT

MLFLOW_VERSION = "3.17.2"
VENV = ROOT / "var" / "bench" / "mlflow-venv"
PYTHON = VENV / "bin" / "python"


def database_url() -> str:
    """MLflow's own database, next to Floniks' on the same server."""
    return os.environ["DATABASE_URL"] + "_mlflow"


def install() -> Path:
    if not PYTHON.exists():
        print(f"  installing mlflow=={MLFLOW_VERSION} into {VENV} (once)…", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(PYTHON), "-m", "pip", "install", "-q", f"mlflow=={MLFLOW_VERSION}", "psycopg[binary]==3.3.9"],
            check=True,
        )
    return PYTHON


@contextmanager
def tracking_server() -> Iterator[str]:
    """Start `mlflow server` (2 workers, PostgreSQL backend store); yield its URL."""
    import psycopg

    from testing.services import free_port, wait_for_port

    install()
    name = database_url().rsplit("/", 1)[1]
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    port = free_port()
    store = Path(os.environ["FLONIKS_VAR_DIR"]) / "mlflow"
    store.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [
            str(VENV / "bin" / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--backend-store-uri",
            database_url().replace("postgresql://", "postgresql+psycopg://"),
            "--default-artifact-root",
            str(store),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 120)
        time.sleep(2)  # the port opens before the workers finish migrating the schema
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(30)


def run_script(script: str) -> str:
    """Run a script with MLflow's interpreter; return its last line of output."""
    out = subprocess.run([str(install()), "-c", script], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"MLflow script failed:\n{out.stderr[-3000:]}")
    return out.stdout.strip().splitlines()[-1]
