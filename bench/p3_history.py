"""P3 — version history at scale (DESIGN §12).

Loads 10^4, 10^5 and 10^6 version records (generated inside PostgreSQL), and at
each size times the filtered history query (model + seed + text) through the
API: p50/p95 over many queries with different values, and the query count.

    .venv/bin/python bench/p3_history.py [--sizes 10000,100000,1000000] [--queries 200]
Goals: p95 ≤ 50 ms at 10^6; p95 at 10^6 ≤ 1.5 × p95 at 10^4; constant query count.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

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


def load(upto: int, already: int, workflow_id: int, version_id: int, user_id: int) -> None:
    """Insert records already+1..upto with their runs and filter rows, entirely in SQL."""
    from django.db import connection

    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    models = "ARRAY[" + ",".join(f"'{f}@{s}'" for f, s in MODELS) + "]"
    with connection.cursor() as c:
        c.execute(
            f"""
            CREATE TEMP TABLE gen ON COMMIT DROP AS
            SELECT g AS n, gen_random_uuid() AS run_id, gen_random_uuid() AS record_id,
                   (hashint8(g::bigint) & 2147483647) AS seed_a, (hashint8(g::bigint * 7919) & 2147483647) AS seed_b,
                   ({models})[1 + (g %% 6)] AS model_a, ({models})[1 + ((g / 6) %% 6)] AS model_b,
                   ({words})[1 + (g %% 22)] || ' ' || ({words})[1 + ((g / 22) %% 22)] AS label_words,
                   'Client asked for ' || ({words})[1 + ((g / 7) %% 22)] || ' ' || ({words})[1 + ((g / 131) %% 22)]
                     || ' after review ' || g AS annotation,
                   timestamptz '2025-01-01' + (g || ' minutes')::interval AS at
            FROM generate_series(%s, %s) g""",
            [already + 1, upto],
        )
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


def measure(queries: int, size: int, operator) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from runs_app.models import RecordSeed

    client = APIClient(SERVER_NAME="localhost")
    client.force_authenticate(operator)
    rng = random.Random(size)
    picks = list(
        RecordSeed.objects.filter(step="background").order_by("?").values_list("seed", "record__label")[:queries]
    )
    latencies, counts = [], set()
    for seed, label in picks:
        family, snapshot = rng.choice(MODELS)
        word = label.split("-")[1] if rng.random() < 0.8 else rng.choice(WORDS)
        url = f"/api/records/?model={family}@{snapshot}&seed={seed}&q={word}"
        operator._floniks_role = None
        with CaptureQueriesContext(connection) as ctx:
            began = time.perf_counter()
            response = client.get(url)
            latencies.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
        counts.add(len(ctx))
    assert len(counts) == 1, f"query count varies: {counts}"
    latencies.sort()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.95) - 1], counts.pop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    start_services()
    from django.db import transaction

    from templates_app import services as templates
    from templates_app.management.commands.load_demo import DEMO_DEFINITION

    operator = user("operator")
    workflow = templates.create_workflow(actor=operator, slug="bench-p3", name="P3")
    version = templates.publish_draft(
        actor=operator, draft=templates.save_draft(actor=operator, workflow=workflow, definition=DEMO_DEFINITION)
    )
    loaded, results = 0, []
    for size in (int(s) for s in args.sizes.split(",")):
        began = time.perf_counter()
        with transaction.atomic():
            load(size, loaded, workflow.pk, version.pk, operator.pk)
        loaded = size
        p50, p95, count = measure(args.queries, size, operator)
        results.append((size, p50, p95, count))
        print(
            f"  {size:>9,} records loaded in {time.perf_counter() - began:5.1f}s: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
            f"queries {count}",
            flush=True,
        )
    first, last = results[0], results[-1]
    print("P3 history (filter: model + seed + text, through the API)")
    print(
        f"  p95 at {last[0]:,}: {last[2]:.1f} ms (goal ≤ 50 ms); flatness p95({last[0]:,}) / p95({first[0]:,}) = "
        f"{last[2] / first[2]:.2f} (goal ≤ 1.5); query count {sorted({r[3] for r in results})}"
    )


if __name__ == "__main__":
    main()
