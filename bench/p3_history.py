"""P3 — version history at scale (DESIGN §12).

Loads 10^4, 10^5 and 10^6 version records (generated inside PostgreSQL), and at
each size times the filtered history query (model + seed + text) through the
API: p50/p95 over many queries with different values, and the query count.
At 10^5 the same filters go through MLflow's search_runs over the same runs
(bulk-loaded into a local tracking server's PostgreSQL store).

    .venv/bin/python bench/p3_history.py [--sizes 10000,100000,1000000] [--queries 200] [--mlflow-at 100000]
Goals: p95 ≤ 50 ms at 10^6; p95 at 10^6 ≤ 1.5 × p95 at 10^4; constant query count.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

from _env import start_services, user

from testing.history import MODELS, WORDS, generated_rows, load

Filter = tuple[str, int, str]  # model (family@snapshot), seed, a word of text


def pick_filters(count: int, size: int) -> list[Filter]:
    """Filters as users type them: a seed they saw, a model, mostly a word of the label."""
    from runs_app.models import RecordSeed

    rng = random.Random(size)
    picks = RecordSeed.objects.filter(step="background").order_by("?").values_list("seed", "record__label")[:count]
    filters = []
    for seed, label in picks:
        family, snapshot = rng.choice(MODELS)
        word = label.split("-")[1] if rng.random() < 0.8 else rng.choice(WORDS)
        filters.append((f"{family}@{snapshot}", seed, word))
    return filters


def percentiles(latencies: list[float]) -> tuple[float, float]:
    latencies = sorted(latencies)
    return statistics.median(latencies), latencies[int(len(latencies) * 0.95) - 1]


def measure(filters: list[Filter], operator: Any) -> tuple[float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    client = APIClient(SERVER_NAME="localhost")
    client.force_authenticate(operator)
    latencies, counts, hits = [], set(), 0
    for model, seed, word in filters:
        url = f"/api/records/?model={model}&seed={seed}&q={word}"
        operator._floniks_role = None
        with CaptureQueriesContext(connection) as ctx:
            began = time.perf_counter()
            response = client.get(url, secure=True)  # DEBUG off, as in production: plain HTTP is redirected
            latencies.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (response.status_code, response.content[:300])
        counts.add(len(ctx))
        hits += bool(response.json()["results"])
    assert len(counts) == 1, f"query count varies: {counts}"
    return (*percentiles(latencies), counts.pop(), hits)


MLFLOW_SEARCH = """
import json, time, psycopg
from mlflow.tracking import MlflowClient
url, db, upto, rows_sql, filters = json.loads(ARGS)
client = MlflowClient(url)
experiment = client.create_experiment("p3-history")
template = client.create_run(experiment, run_name="template")
client.set_terminated(template.info.run_id)
with psycopg.connect(db, autocommit=True) as conn:
    # Bulk load, as for Floniks: clone the template run row once per generated record.
    columns = [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'runs' ORDER BY ordinal_position")]
    fresh = {"run_uuid": "g.run_uuid", "name": "g.name", "start_time": "g.at_ms", "end_time": "g.at_ms"}
    conn.execute(
        "CREATE TEMP TABLE gen AS SELECT *, md5('mlflow' || n) AS run_uuid, "
        "'v' || n || '-' || replace(label_words, ' ', '-') AS name, "
        "(extract(epoch FROM at) * 1000)::bigint AS at_ms FROM (" + rows_sql + ") r", [1, upto])
    conn.execute(
        "INSERT INTO runs (" + ", ".join(f'"{c}"' for c in columns) + ") SELECT "
        + ", ".join(fresh.get(c, f't."{c}"') for c in columns)
        + " FROM gen g, runs t WHERE t.run_uuid = %s", [template.info.run_id])
    conn.execute(
        "INSERT INTO params (key, value, run_uuid) "
        "SELECT 'background_model', model_a, run_uuid FROM gen UNION ALL "
        "SELECT 'styled_model', model_b, run_uuid FROM gen UNION ALL "
        "SELECT 'background_seed', seed_a::text, run_uuid FROM gen UNION ALL "
        "SELECT 'styled_seed', seed_b::text, run_uuid FROM gen")
    conn.execute(
        "INSERT INTO tags (key, value, run_uuid) "
        "SELECT 'mlflow.runName', name, run_uuid FROM gen UNION ALL "
        "SELECT 'mlflow.note.content', annotation, run_uuid FROM gen")
    conn.execute("ANALYZE runs; ANALYZE params; ANALYZE tags")
latencies, hits = [], 0
for model, seed, word in filters:
    # MLflow's filter language has no OR: the model and seed of the first step, the text in the run name.
    query = (f"params.background_model = '{model}' and params.background_seed = '{seed}' "
             f"and attributes.run_name ILIKE '%{word}%'")
    began = time.perf_counter()
    found = client.search_runs([experiment], query, max_results=50)
    latencies.append((time.perf_counter() - began) * 1000)
    hits += bool(found)
print(json.dumps([latencies, hits]))
"""


def _mlflow_version() -> str:
    import _mlflow

    return _mlflow.MLFLOW_VERSION


def mlflow_search(filters: list[Filter], size: int) -> tuple[float, float, int]:
    """The same filters with MLflow's search_runs over the same `size` runs (its tracking server, over HTTP)."""
    import json

    import _mlflow

    with _mlflow.tracking_server() as url:
        args = json.dumps([url, _mlflow.database_url(), size, generated_rows(), filters])
        latencies, hits = json.loads(_mlflow.run_script(f"ARGS = {args!r}\n" + MLFLOW_SEARCH))
    return (*percentiles(latencies), hits)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--mlflow-at", type=int, default=100_000, help="compare with MLflow at this size (0: never)")
    args = parser.parse_args()
    start_services()
    from django.db import transaction

    from composition.management.commands.load_demo import DEMO_DEFINITION
    from templates_app import services as templates

    operator = user("operator")
    workflow = templates.create_workflow(actor=operator, slug="bench-p3", name="P3")
    version = templates.publish_draft(
        actor=operator, draft=templates.save_draft(actor=operator, workflow=workflow, definition=DEMO_DEFINITION)
    )
    loaded, results = 0, []
    mlflow_result: tuple[int, float, float, float] | None = None
    for size in (int(s) for s in args.sizes.split(",")):
        began = time.perf_counter()
        with transaction.atomic():
            load(size, loaded, workflow.pk, version.pk, operator.pk)
        loaded = size
        filters = pick_filters(args.queries, size)
        p50, p95, count, hits = measure(filters, operator)
        results.append((size, p50, p95, count))
        print(
            f"  {size:>9,} records loaded in {time.perf_counter() - began:5.1f}s: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
            f"queries {count}  ({hits}/{len(filters)} filters match records)",
            flush=True,
        )
        if size == args.mlflow_at:
            m50, m95, m_hits = mlflow_search(filters, size)
            mlflow_result = (size, p95, m50, m95)
            print(
                f"  {size:>9,} runs in MLflow search_runs: p50 {m50:6.1f} ms  p95 {m95:6.1f} ms  "
                f"({m_hits}/{len(filters)} filters match runs)",
                flush=True,
            )
    first, last = results[0], results[-1]
    print("P3 history (filter: model + seed + text, through the API)")
    print(
        f"  p95 at {last[0]:,}: {last[2]:.1f} ms (goal ≤ 50 ms); flatness p95({last[0]:,}) / p95({first[0]:,}) = "
        f"{last[2] / first[2]:.2f} (goal ≤ 1.5); query count {sorted({r[3] for r in results})}"
    )
    if mlflow_result is not None:
        size, ours, m50, m95 = mlflow_result
        print(
            f"  MLflow {_mlflow_version()} search_runs at {size:,}: p95 {m95:.1f} ms vs Floniks {ours:.1f} ms "
            f"({m95 / ours:.1f}× slower); MLflow filters cannot OR across steps or fields, so it matches "
            "the first step's model and seed and the run name only"
        )


if __name__ == "__main__":
    main()
