"""Storing a version record under its gap-free number.

Numbers come from the workflow's sequence row: whoever holds its row lock takes
the next number, and a failed write rolls the number back, so numbers never have
holes. Concurrent finalisers queue on that lock, so it must be held as briefly as
possible. On PostgreSQL the whole write is therefore one statement — finalise the
run, take the number (creating the sequence row on first use), insert the record
and its filter rows — and the lock lives for one round trip. Other databases
(SQLite in `make run`) take the same steps in a transaction."""

from __future__ import annotations

import re
from typing import Any

from django.db import connection, transaction
from django.db.models import F

from runs_app.models import (
    PendingSignature,
    RecordModel,
    RecordSeed,
    RecordSequence,
    Run,
    RunStatus,
    VersionRecord,
)
from templates_app.definition import split_model

# Filled in from the sequence inside the write, never by the caller.
NUMBERED = ("number", "label")


def insert_numbered(record: VersionRecord, *, label_suffix: str, portable: bool = False) -> bool:
    """Finalise `record.run`, number `record` and insert it with its filter rows.

    The label becomes `v<number><label_suffix>`. Returns False, writing nothing, when
    the run is no longer in `recording` (another writer got there first)."""
    if connection.vendor == "postgresql" and not portable:
        return _in_one_statement(record, label_suffix)
    return _in_transaction(record, label_suffix)


def _filter_rows(record: VersionRecord) -> tuple[list[tuple[str, str, str]], list[tuple[str, int]]]:
    models = [(step, *_family_snapshot(ref)) for step, ref in record.step_models.items()]
    return models, list(record.seeds.items())


def _family_snapshot(ref: str) -> tuple[str, str]:
    family, snapshot = split_model(ref)
    return family, snapshot or ""


def _in_one_statement(record: VersionRecord, label_suffix: str) -> bool:
    quote = connection.ops.quote_name
    fields = [f for f in VersionRecord._meta.concrete_fields if f.attname not in NUMBERED]
    columns = ", ".join(quote(str(f.column)) for f in fields)
    # Parameters in a SELECT list are not typed by the target column, so each is cast to it.
    values = ", ".join(f"%s::{_column_type(f)}" for f in fields)
    params: list[Any] = [f.get_db_prep_save(f.pre_save(record, add=True), connection) for f in fields]
    models, seeds = _filter_rows(record)
    sql = f"""
        WITH finalised AS (
            UPDATE {quote(Run._meta.db_table)} SET status = %s WHERE id = %s AND status = %s RETURNING workflow_id
        ), numbered AS (
            INSERT INTO {quote(RecordSequence._meta.db_table)} AS seq (workflow_id, last_number)
            SELECT workflow_id, 1 FROM finalised
            ON CONFLICT (workflow_id) DO UPDATE SET last_number = seq.last_number + 1
            RETURNING last_number
        ), record AS (
            INSERT INTO {quote(VersionRecord._meta.db_table)} ({columns}, number, label)
            SELECT {values}, last_number, 'v' || last_number || %s FROM numbered
            RETURNING id, number, label
        ), model_rows AS (
            INSERT INTO {quote(RecordModel._meta.db_table)} (record_id, step, family, snapshot)
            SELECT record.id, m.* FROM record, unnest(%s::text[], %s::text[], %s::text[]) AS m(step, family, snapshot)
        ), seed_rows AS (
            INSERT INTO {quote(RecordSeed._meta.db_table)} (record_id, step, seed)
            SELECT record.id, s.* FROM record, unnest(%s::text[], %s::bigint[]) AS s(step, seed)
        ), pending AS (
            INSERT INTO {quote(PendingSignature._meta.db_table)} (record_id, since)
            SELECT record.id, now() FROM record WHERE %s
        )
        SELECT number, label FROM record
    """
    arguments = [
        RunStatus.FINALIZED,
        record.run_id,
        RunStatus.RECORDING,
        *params,
        label_suffix,
        [m[0] for m in models],
        [m[1] for m in models],
        [m[2] for m in models],
        [s[0] for s in seeds],
        [s[1] for s in seeds],
        bool(record.outputs),  # a record with outputs waits for their signed copies
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, arguments)
        row = cursor.fetchone()
    if row is None:
        return False
    record.number, record.label = row
    record._state.adding, record._state.db = False, connection.alias
    return True


def _column_type(field: Any) -> str:
    column_type = field.cast_db_type(connection)
    if column_type is None:
        raise TypeError(f"{field} has no column type to cast to")
    # Not varchar(n): an explicit cast would silently cut an over-long value, where the
    # column's own check (as in a plain INSERT) refuses it.
    return re.sub(r"^varchar\(\d+\)$", "varchar", str(column_type))


def _in_transaction(record: VersionRecord, label_suffix: str) -> bool:
    models, seeds = _filter_rows(record)
    with transaction.atomic():
        if not Run.objects.filter(pk=record.run_id, status=RunStatus.RECORDING).update(status=RunStatus.FINALIZED):
            return False
        RecordSequence.objects.get_or_create(workflow_id=record.workflow_id)
        sequence = RecordSequence.objects.filter(workflow_id=record.workflow_id)
        sequence.update(last_number=F("last_number") + 1)  # the lock is taken here and held to COMMIT
        record.number = sequence.values_list("last_number", flat=True).get()
        record.label = f"v{record.number}{label_suffix}"
        record.save(force_insert=True)
        RecordModel.objects.bulk_create(
            RecordModel(record=record, step=step, family=family, snapshot=snapshot) for step, family, snapshot in models
        )
        RecordSeed.objects.bulk_create(RecordSeed(record=record, step=step, seed=seed) for step, seed in seeds)
        if record.outputs:
            PendingSignature.objects.create(record=record)
    return True
