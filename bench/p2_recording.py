"""P2 — recording throughput (DESIGN §12).

16 concurrent finalisers on one workflow write N version records (gap-free
numbers), compared in the same run with:
  * raw PostgreSQL: 16 threads allocating numbers from a locked counter row and
    inserting a row per number (the floor any gap-free scheme pays);
  * a local MLflow tracking server (installed from PyPI into its own virtualenv
    under var/bench/) creating a run and logging the same parameters per payload.

    .venv/bin/python bench/p2_recording.py [--records 1600] [--skip-mlflow]
Goals: Floniks ≥ 25 % of the raw rate and ≥ 2 × MLflow.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import threading
import time
from typing import Any

import _mlflow
from _env import start_services, user

THREADS = 16


def threaded(n_threads: int, prepare: Any, work: Any) -> float:
    """Time work(prepare(i)) on n threads released together; set-up (connecting) is not timed."""
    barrier = threading.Barrier(n_threads + 1)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            state = prepare(i)
            barrier.wait()
            work(state)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - began


def _finaliser(run_ids: list[str], operator_id: int, start: Any, done: Any) -> None:
    """One finalising process, warmed up like a long-lived web or worker process before the clock starts."""
    from django.contrib.auth import get_user_model
    from django.db import connection, connections

    from floniks.celery import app
    from runs_app import services
    from runs_app.models import Run

    try:
        connections.close_all()  # never share the parent's connection after fork
        connection.ensure_connection()
        with app.producer_or_acquire() as producer:
            producer.connection.ensure_connection()
        operator = get_user_model().objects.get(pk=operator_id)
        start.wait()
        for run_id in run_ids:
            services.finalize_run(actor=operator, run=Run(pk=run_id), label="bench", annotation="throughput")
            services.write_record(run_id=run_id)
        done.wait()
    except BaseException:
        start.abort()  # the parent stops waiting and the run fails loudly
        done.abort()
        raise


def floniks_rate(n: int) -> tuple[float, dict[str, Any]]:
    from composition.management.commands.load_demo import DEMO_DEFINITION
    from runs_app import services
    from runs_app.models import Run, RunStatus, VersionRecord
    from templates_app import services as templates

    operator = user("operator")
    workflow = templates.create_workflow(actor=operator, slug="bench-p2", name="P2")
    templates.publish_draft(
        actor=operator, draft=templates.save_draft(actor=operator, workflow=workflow, definition=DEMO_DEFINITION)
    )
    runs = [services.start_run(actor=operator, workflow=workflow, inputs={"subject": f"s{i}"}).pk for i in range(n)]
    Run.objects.filter(pk__in=runs).update(status=RunStatus.AWAITING_ANNOTATION)
    sample = Run.objects.get(pk=runs[0])
    payload = {s["id"]: s["params"] for s in sample.specification["steps"]}

    # Finalisers are separate processes in production (web and Celery workers), so here too:
    # 16 forked processes, each with its own database connection, not 16 threads behind one GIL.
    from django.db import connections

    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    start, done = ctx.Barrier(THREADS + 1), ctx.Barrier(THREADS + 1)
    finalisers = [
        ctx.Process(target=_finaliser, args=([str(r) for r in runs[i::THREADS]], operator.pk, start, done))
        for i in range(THREADS)
    ]
    for process in finalisers:
        process.start()
    start.wait(timeout=120)
    began = time.perf_counter()
    done.wait(timeout=600)
    elapsed = time.perf_counter() - began
    for process in finalisers:
        process.join()
    numbers = list(VersionRecord.objects.filter(workflow=workflow).order_by("number").values_list("number", flat=True))
    assert numbers == list(range(1, n + 1)), "numbers are not 1..n"
    return n / elapsed, payload


def raw_rate(n: int) -> float:
    import psycopg

    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_counter (id int PRIMARY KEY, n bigint NOT NULL)")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_rows (n bigint PRIMARY KEY, label text, body jsonb)")
        conn.execute("INSERT INTO bench_counter VALUES (1, 0) ON CONFLICT DO NOTHING")

    def allocator(conn: psycopg.Connection[Any]) -> None:
        with conn:
            for _ in range(n // THREADS):
                with conn.transaction():
                    (number,) = conn.execute("UPDATE bench_counter SET n = n + 1 WHERE id = 1 RETURNING n").fetchone()
                    conn.execute("INSERT INTO bench_rows VALUES (%s, %s, %s)", (number, f"v{number}", '{"a": 1}'))

    return (n // THREADS * THREADS) / threaded(THREADS, lambda i: psycopg.connect(url), allocator)


def mlflow_rate(n: int, payload: dict[str, Any]) -> float:
    with _mlflow.tracking_server() as url:
        flat = {f"{step}.{k}": str(v)[:500] for step, params in payload.items() for k, v in params.items()}
        script = f"""
import sys, threading, time, mlflow
from mlflow.tracking import MlflowClient
client = MlflowClient({url!r})
exp = client.create_experiment("p2-" + str(time.time()))
params = {flat!r}
n, threads = {n}, {THREADS}
barrier = threading.Barrier(threads + 1)
def work(i):
    barrier.wait()
    for _ in range(n // threads):
        run = client.create_run(exp)
        client.log_batch(run.info.run_id, params=[mlflow.entities.Param(k, v) for k, v in params.items()])
        client.set_terminated(run.info.run_id)
ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
[t.start() for t in ts]; barrier.wait(); t0 = time.perf_counter(); [t.join() for t in ts]
print((n // threads * threads) / (time.perf_counter() - t0))
"""
        return float(_mlflow.run_script(script))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1600)
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    start_services()
    floniks, payload = floniks_rate(args.records)
    raw = raw_rate(args.records)
    print(f"P2 recording: {args.records} records, {THREADS} concurrent finalisers, one workflow")
    print(f"  Floniks (finalise + gap-free record write): {floniks:8.1f} records/s")
    print(
        f"  raw locked PostgreSQL allocation:           {raw:8.1f} numbers/s   ratio {floniks / raw:.2f} (goal ≥ 0.25)"
    )
    if not args.skip_mlflow:
        mlflow = mlflow_rate(args.records, payload)
        print(
            f"  MLflow tracking server (create+log+end):    {mlflow:8.1f} runs/s      ratio {floniks / mlflow:.2f} (goal ≥ 2)"
        )


if __name__ == "__main__":
    main()
