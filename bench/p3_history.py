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

WORDS = [
    "warm",
    "cool",
    "earthy",
    "minimal",
    "vibrant",
    "urban",
    "fox",
    "hare",
    "dusk",
    "dawn",
    "client",
    "review",
    "palette",
    "grain",
    "golden",
    "hero",
    "banner",
    "retouch",
    "approved",
    "softer",
    "brighter",
    "campaign",
]
MODELS = [
    ("local/plasma", "2026-04-21"),
    ("local/plasma", "2026-06-15"),
    ("local/mosaic", "2026-05-02"),
    ("local/mosaic", "2026-08-30"),
    ("local/aurora", "2026-03-10"),
    ("local/aurora", "2026-07-01"),
]


def generated_rows() -> str:
    """SELECT of records %s..%s (two placeholders): seeds, models, label words and annotation per
    record number. Floniks and MLflow load the very same rows from it."""
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    models = "ARRAY[" + ",".join(f"'{f}@{s}'" for f, s in MODELS) + "]"
    return f"""
        SELECT g AS n, gen_random_uuid() AS run_id, gen_random_uuid() AS record_id,
               (hashint8(g::bigint) & 2147483647) AS seed_a, (hashint8(g::bigint * 7919) & 2147483647) AS seed_b,
               ({models})[1 + (g %% 6)] AS model_a, ({models})[1 + ((g / 6) %% 6)] AS model_b,
               ({words})[1 + (g %% 22)] || ' ' || ({words})[1 + ((g / 22) %% 22)] AS label_words,
               'Client asked for ' || ({words})[1 + ((g / 7) %% 22)] || ' ' || ({words})[1 + ((g / 131) %% 22)]
                 || ' after review ' || g AS annotation,
               timestamptz '2025-01-01' + (g || ' minutes')::interval AS at
        FROM generate_series(%s, %s) g"""


def load(upto: int, already: int, workflow_id: int, version_id: int, user_id: int) -> None:
    """Insert records already+1..upto with their runs and filter rows, entirely in SQL."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute(f"CREATE TEMP TABLE gen ON COMMIT DROP AS {generated_rows()}", [already + 1, upto])
        c.execute(
            """
            INSERT INTO runs_app_run (id, workflow_id, version_id, mode, status, inputs, specification, spec_hash,
                drift_warnings, error, created_by_id, created_at, lease_owner, cancel_requested, label, annotation,
                saved_without_annotation, annotated_by_id, annotated_at)
            SELECT run_id, %s, %s, 'discovery', 'finalized', '{}', '{}', 'sha256:' || repeat('0', 64), '[]', '', %s, at,
                   '', false, label_words, annotation, false, %s, at FROM gen""",
            [workflow_id, version_id, user_id, user_id],
        )
        c.execute(
            """
            INSERT INTO runs_app_versionrecord (id, run_id, workflow_id, version_id, number, label, manifest_hash, spec_hash,
                mode, run_at, inputs, parameters, seeds, step_models, subworkflows, reference_images, outputs, annotation,
                saved_without_annotation, annotated_by_id, created_at, legacy_required)
            SELECT record_id, run_id, %s, %s, n, 'v' || n || '-' || replace(label_words, ' ', '-'), 'sha256:' || repeat('0', 64),
                   'sha256:' || repeat('0', 64), 'discovery', at, '{}', '{}',
                   jsonb_build_object('background', seed_a, 'styled', seed_b),
                   jsonb_build_object('background', model_a, 'styled', model_b), '{}', '[]', '{}', annotation, false, %s, at,
                   false FROM gen""",
            [workflow_id, version_id, user_id],
        )
        c.execute("""
            INSERT INTO runs_app_recordmodel (record_id, step, family, snapshot)
            SELECT record_id, 'background', split_part(model_a, '@', 1), split_part(model_a, '@', 2) FROM gen
            UNION ALL SELECT record_id, 'styled', split_part(model_b, '@', 1), split_part(model_b, '@', 2) FROM gen""")
        c.execute("""
            INSERT INTO runs_app_recordseed (record_id, step, seed)
            SELECT record_id, 'background', seed_a FROM gen UNION ALL SELECT record_id, 'styled', seed_b FROM gen""")
        c.execute("ANALYZE runs_app_versionrecord; ANALYZE runs_app_recordmodel; ANALYZE runs_app_recordseed")


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
            response = client.get(url)
            latencies.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
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
