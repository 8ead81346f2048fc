from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.batch_run import BatchRun


T = TypeVar("T", bound="Batch")


@_attrs_define
class Batch:
    """
    Attributes:
        count (int):
        created_at (datetime.datetime):
        created_by (str):
        id (UUID):
        inputs (Any):
        runs (list[BatchRun]):
        sweep (Any):
        version (str):
        workflow (str):
    """

    count: int
    created_at: datetime.datetime
    created_by: str
    id: UUID
    inputs: Any
    runs: list[BatchRun]
    sweep: Any
    version: str
    workflow: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.batch_run import BatchRun  # noqa: PLC0415

        count = self.count

        created_at = self.created_at.isoformat()

        created_by = self.created_by

        id = str(self.id)

        inputs = self.inputs

        runs = []
        for runs_item_data in self.runs:
            runs_item = runs_item_data.to_dict()
            runs.append(runs_item)

        sweep = self.sweep

        version = self.version

        workflow = self.workflow

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "count": count,
                "created_at": created_at,
                "created_by": created_by,
                "id": id,
                "inputs": inputs,
                "runs": runs,
                "sweep": sweep,
                "version": version,
                "workflow": workflow,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.batch_run import BatchRun  # noqa: PLC0415

        d = dict(src_dict)
        count = d.pop("count")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        created_by = d.pop("created_by")

        id = UUID(d.pop("id"))

        inputs = d.pop("inputs")

        runs = []
        _runs = d.pop("runs")
        for runs_item_data in _runs:
            runs_item = BatchRun.from_dict(runs_item_data)

            runs.append(runs_item)

        sweep = d.pop("sweep")

        version = d.pop("version")

        workflow = d.pop("workflow")

        batch = cls(
            count=count,
            created_at=created_at,
            created_by=created_by,
            id=id,
            inputs=inputs,
            runs=runs,
            sweep=sweep,
            version=version,
            workflow=workflow,
        )

        batch.additional_properties = d
        return batch

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
