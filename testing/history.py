"""Many version records at once, generated inside PostgreSQL: the history benchmark
(bench/p3_history.py, 10^4–10^6 records) and the history-at-scale test (tests/test_history_at_scale.py)
build the same rows. Records, their runs and the filter rows (RecordModel, RecordSeed) that the
history's model and seed filters join, without the run engine, so 10^4 records take about a second."""

from __future__ import annotations

from typing import Any

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


def generated_rows(per_minute: int = 1) -> str:
    """SELECT of records %s..%s (two placeholders): seeds, models, label words and annotation per
    record number, `per_minute` records a minute (more than one: records created at the same
    instant, which keyset pages must tell apart by id). Floniks and MLflow load the very same rows from it."""
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    models = "ARRAY[" + ",".join(f"'{f}@{s}'" for f, s in MODELS) + "]"
    return f"""
        SELECT g AS n, gen_random_uuid() AS run_id, gen_random_uuid() AS record_id,
               (hashint8(g::bigint) & 2147483647) AS seed_a, (hashint8(g::bigint * 7919) & 2147483647) AS seed_b,
               ({models})[1 + (g %% 6)] AS model_a, ({models})[1 + ((g / 6) %% 6)] AS model_b,
               ({words})[1 + (g %% 22)] || ' ' || ({words})[1 + ((g / 22) %% 22)] AS label_words,
               'Client asked for ' || ({words})[1 + ((g / 7) %% 22)] || ' ' || ({words})[1 + ((g / 131) %% 22)]
                 || ' after review ' || g AS annotation,
               timestamptz '2025-01-01' + ((g / {int(per_minute)}) || ' minutes')::interval AS at
        FROM generate_series(%s, %s) g"""


def _insert(model: Any, generated: dict[str, str], **fixed: Any) -> tuple[str, list[Any]]:
    """INSERT … SELECT … FROM gen for `model`: the columns in `generated` from SQL over the generated
    rows, every other column the value a new instance would save (`fixed` ones, else the model's
    default), so a column added to the model later needs no change here."""
    from django.db import connection

    template = model(**fixed)
    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        columns.append(connection.ops.quote_name(field.column))
        if field.column in generated:
            values.append(generated[field.column])
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(getattr(template, field.attname), connection))
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM gen"
    return sql, params


def load(upto: int, already: int, workflow_id: int, version_id: int, user_id: int, per_minute: int = 1) -> None:
    """Insert records already+1..upto with their runs and filter rows, entirely in SQL."""
    from django.db import connection

    from runs_app.models import RecordModel, RecordSeed, Run, RunStatus, VersionRecord
    from templates_app.models import Mode

    zero = "sha256:" + "0" * 64
    with connection.cursor() as c:
        c.execute(f"CREATE TEMP TABLE gen ON COMMIT DROP AS {generated_rows(per_minute)}", [already + 1, upto])
        c.execute(
            *_insert(
                Run,
                {
                    "id": "run_id",
                    "created_at": "at",
                    "label": "label_words",
                    "annotation": "annotation",
                    "annotated_at": "at",
                },
                workflow_id=workflow_id,
                version_id=version_id,
                mode=Mode.DISCOVERY,
                status=RunStatus.FINALIZED,
                specification={},
                spec_hash=zero,
                created_by_id=user_id,
                annotated_by_id=user_id,
            )
        )
        c.execute(
            *_insert(
                VersionRecord,
                {
                    "id": "record_id",
                    "run_id": "run_id",
                    "number": "n",
                    "label": "'v' || n || '-' || replace(label_words, ' ', '-')",
                    "run_at": "at",
                    "seeds": "jsonb_build_object('background', seed_a, 'styled', seed_b)",
                    "step_models": "jsonb_build_object('background', model_a, 'styled', model_b)",
                    "annotation": "annotation",
                    "created_at": "at",
                },
                workflow_id=workflow_id,
                version_id=version_id,
                manifest_hash=zero,
                spec_hash=zero,
                mode=Mode.DISCOVERY,
                inputs={},
                parameters={},
                subworkflows={},
                reference_images=[],
                outputs={},
                annotated_by_id=user_id,
            )
        )
        c.execute(
            f"""
            INSERT INTO {RecordModel._meta.db_table} (record_id, step, family, snapshot)
            SELECT record_id, 'background', split_part(model_a, '@', 1), split_part(model_a, '@', 2) FROM gen
            UNION ALL SELECT record_id, 'styled', split_part(model_b, '@', 1), split_part(model_b, '@', 2) FROM gen"""
        )
        c.execute(
            f"""
            INSERT INTO {RecordSeed._meta.db_table} (record_id, step, seed)
            SELECT record_id, 'background', seed_a FROM gen UNION ALL SELECT record_id, 'styled', seed_b FROM gen"""
        )
        c.execute(
            f"ANALYZE {Run._meta.db_table}; ANALYZE {VersionRecord._meta.db_table}; "
            f"ANALYZE {RecordModel._meta.db_table}; ANALYZE {RecordSeed._meta.db_table}"
        )
