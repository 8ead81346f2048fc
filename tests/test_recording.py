"""Writing version records: both ways of storing a numbered record (one PostgreSQL
statement; a transaction elsewhere) keep every field, and a failed write takes no
number. The 16-finaliser race is in tests/test_concurrency_scale.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DataError, IntegrityError, transaction

from core.errors import Conflict, ValidationFailed
from runs_app import recording, services
from runs_app.models import RecordModel, RecordSeed, RecordSequence, Run, RunStatus, VersionRecord
from tests.helpers import run_now, small_definition

pytestmark = pytest.mark.django_db
INSERT_NUMBERED = recording.insert_numbered


@pytest.fixture
def workflow(make_workflow, publish):
    wf = make_workflow()
    publish(wf, small_definition())
    return wf


def annotated_run(operator: Any, workflow: Any, label: str = "warm take") -> Run:
    run = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"}))
    return services.finalize_run(actor=operator, run=run, label=label, annotation="the client wants warmth")


def use_path(monkeypatch: pytest.MonkeyPatch, *, portable: bool) -> None:
    monkeypatch.setattr(
        recording, "insert_numbered", lambda record, **kw: INSERT_NUMBERED(record, portable=portable, **kw)
    )


def stored_fields(record: VersionRecord) -> dict[str, Any]:
    return {f.attname: getattr(record, f.attname) for f in VersionRecord._meta.concrete_fields}


@pytest.mark.parametrize("portable", [False, True], ids=["one-statement", "transaction"])
def test_each_write_path_stores_the_record_as_built(workflow, operator, monkeypatch, portable):
    use_path(monkeypatch, portable=portable)
    run = annotated_run(operator, workflow, label="Warmer palette!")
    written = services.write_record(run_id=run.pk)
    assert written is not None
    stored = VersionRecord.objects.get(pk=written.pk)
    assert stored_fields(stored) == stored_fields(written)
    assert (stored.number, stored.label) == (1, "v1-warmer-palette")
    assert stored.outputs["hero"]["sha256"] and set(stored.parameters) == {"background", "styled"}
    assert Run.objects.get(pk=run.pk).status == RunStatus.FINALIZED
    models = {(m.step, m.family, m.snapshot) for m in RecordModel.objects.filter(record=stored)}
    assert models == {("background", "local/plasma", "2026-06-15"), ("styled", "local/mosaic", "2026-08-30")}
    seeds = dict(RecordSeed.objects.filter(record=stored).values_list("step", "seed"))
    assert seeds == stored.seeds and len(seeds) == 2


def test_the_two_paths_share_one_gap_free_sequence(workflow, operator, monkeypatch):
    numbers = []
    for portable in [False, True, False, True]:
        use_path(monkeypatch, portable=portable)
        numbers.append(services.write_record(run_id=annotated_run(operator, workflow).pk).number)
    assert numbers == [1, 2, 3, 4]


@pytest.mark.django_db(transaction=True)  # foreign keys are checked at COMMIT, so commit for real
@pytest.mark.parametrize("portable", [False, True], ids=["one-statement", "transaction"])
def test_a_failed_write_takes_no_number_and_leaves_the_run_to_retry(workflow, operator, monkeypatch, portable):
    first = services.write_record(run_id=annotated_run(operator, workflow).pk)
    run = annotated_run(operator, workflow)

    def broken(record: VersionRecord, **kw: Any) -> bool:
        record.annotated_by_id = 10**9  # no such user: the foreign key fails at the very end of the write
        return INSERT_NUMBERED(record, portable=portable, **kw)

    monkeypatch.setattr(recording, "insert_numbered", broken)
    with pytest.raises(IntegrityError):
        services.write_record(run_id=run.pk)
    assert Run.objects.get(pk=run.pk).status == RunStatus.RECORDING
    assert RecordSequence.objects.get(workflow=workflow).last_number == first.number == 1
    assert VersionRecord.objects.count() == 1 and RecordSeed.objects.count() == 2

    monkeypatch.setattr(recording, "insert_numbered", INSERT_NUMBERED)
    retried = services.write_record(run_id=run.pk)
    assert retried.number == 2 and services.write_record(run_id=run.pk) == retried


@pytest.mark.parametrize("portable", [False, True], ids=["one-statement", "transaction"])
def test_an_over_long_value_is_refused_not_cut(workflow, operator, monkeypatch, portable):
    run = annotated_run(operator, workflow)

    def too_long(record: VersionRecord, **kw: Any) -> bool:
        record.spec_hash += "0" * 10  # 81 characters for a 71-character column
        return INSERT_NUMBERED(record, portable=portable, **kw)

    monkeypatch.setattr(recording, "insert_numbered", too_long)
    with pytest.raises(DataError), transaction.atomic():
        services.write_record(run_id=run.pk)
    assert VersionRecord.objects.count() == 0 and Run.objects.get(pk=run.pk).status == RunStatus.RECORDING


def test_a_run_not_awaiting_annotation_is_refused_whatever_the_form_says(workflow, operator):
    run = annotated_run(operator, workflow)
    for label, annotation in [("again", "a second go"), ("", "")]:
        with pytest.raises(Conflict) as refused:
            services.finalize_run(actor=operator, run=run, label=label, annotation=annotation)
        assert refused.value.code == "not_awaiting_annotation" and "recording" in str(refused.value)
    assert Run.objects.get(pk=run.pk).annotation == "the client wants warmth"


def test_a_refused_form_changes_nothing(workflow, operator):
    run = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"}))
    with pytest.raises(ValidationFailed):
        services.finalize_run(actor=operator, run=run, label="", annotation="")
    stored = Run.objects.get(pk=run.pk)
    assert stored.status == RunStatus.AWAITING_ANNOTATION and stored.annotated_by is None and stored.label == ""
