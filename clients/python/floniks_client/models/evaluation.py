from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.bump_enum import BumpEnum
from ..models.evidence_status_enum import EvidenceStatusEnum
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.evaluation_outputs import EvaluationOutputs
    from ..models.evaluation_runs import EvaluationRuns


T = TypeVar("T", bound="Evaluation")


@_attrs_define
class Evaluation:
    """
    Attributes:
        baseline (str):
        bump (BumpEnum): * `initial` - Initial
            * `patch` - Patch
            * `minor` - Minor
            * `major` - Major
        bump_reasons (Any):
        candidate (str):
        completed_at (datetime.datetime | None):
        created_at (datetime.datetime):
        definition_diff (Any): [{op, path, from, to}] baseline → candidate
        id (UUID):
        inputs (Any):
        note (str):
        outputs (EvaluationOutputs):
        record (None | UUID):
        runs (EvaluationRuns):
        seeds (Any): step → the seed both runs used
        status (EvidenceStatusEnum): * `running` - Rendering
            * `done` - Done
            * `failed` - Failed
        url (str):
        workflow (str):
    """

    baseline: str
    bump: BumpEnum
    bump_reasons: Any
    candidate: str
    completed_at: datetime.datetime | None
    created_at: datetime.datetime
    definition_diff: Any
    id: UUID
    inputs: Any
    note: str
    outputs: EvaluationOutputs
    record: None | UUID
    runs: EvaluationRuns
    seeds: Any
    status: EvidenceStatusEnum
    url: str
    workflow: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.evaluation_outputs import EvaluationOutputs  # noqa: PLC0415
        from ..models.evaluation_runs import EvaluationRuns  # noqa: PLC0415

        baseline = self.baseline

        bump = self.bump.value

        bump_reasons = self.bump_reasons

        candidate = self.candidate

        completed_at: None | str
        if isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        created_at = self.created_at.isoformat()

        definition_diff = self.definition_diff

        id = str(self.id)

        inputs = self.inputs

        note = self.note

        outputs = self.outputs.to_dict()

        record: None | str
        if isinstance(self.record, UUID):
            record = str(self.record)
        else:
            record = self.record

        runs = self.runs.to_dict()

        seeds = self.seeds

        status = self.status.value

        url = self.url

        workflow = self.workflow

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "baseline": baseline,
                "bump": bump,
                "bump_reasons": bump_reasons,
                "candidate": candidate,
                "completed_at": completed_at,
                "created_at": created_at,
                "definition_diff": definition_diff,
                "id": id,
                "inputs": inputs,
                "note": note,
                "outputs": outputs,
                "record": record,
                "runs": runs,
                "seeds": seeds,
                "status": status,
                "url": url,
                "workflow": workflow,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.evaluation_outputs import EvaluationOutputs  # noqa: PLC0415
        from ..models.evaluation_runs import EvaluationRuns  # noqa: PLC0415

        d = dict(src_dict)
        baseline = d.pop("baseline")

        bump = BumpEnum(d.pop("bump"))

        bump_reasons = d.pop("bump_reasons")

        candidate = d.pop("candidate")

        def _parse_completed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        completed_at = _parse_completed_at(d.pop("completed_at"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        definition_diff = d.pop("definition_diff")

        id = UUID(d.pop("id"))

        inputs = d.pop("inputs")

        note = d.pop("note")

        outputs = EvaluationOutputs.from_dict(d.pop("outputs"))

        def _parse_record(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                record_type_0 = UUID(data)

                return record_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        record = _parse_record(d.pop("record"))

        runs = EvaluationRuns.from_dict(d.pop("runs"))

        seeds = d.pop("seeds")

        status = EvidenceStatusEnum(d.pop("status"))

        url = d.pop("url")

        workflow = d.pop("workflow")

        evaluation = cls(
            baseline=baseline,
            bump=bump,
            bump_reasons=bump_reasons,
            candidate=candidate,
            completed_at=completed_at,
            created_at=created_at,
            definition_diff=definition_diff,
            id=id,
            inputs=inputs,
            note=note,
            outputs=outputs,
            record=record,
            runs=runs,
            seeds=seeds,
            status=status,
            url=url,
            workflow=workflow,
        )

        evaluation.additional_properties = d
        return evaluation

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
