from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.run_status_enum import RunStatusEnum
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.batch_run_seeds import BatchRunSeeds


T = TypeVar("T", bound="BatchRun")


@_attrs_define
class BatchRun:
    """
    Attributes:
        id (UUID):
        progress (float):
        record_id (None | str):
        seeds (BatchRunSeeds):
        status (RunStatusEnum): * `queued` - Queued
            * `running` - Running
            * `awaiting_gate` - Paused at a gate
            * `awaiting_annotation` - Awaiting annotation
            * `recording` - Writing the record
            * `finalized` - Finalized
            * `failed` - Failed
            * `cancelled` - Cancelled
            * `discarded` - Discarded
        swept (Any):
    """

    id: UUID
    progress: float
    record_id: None | str
    seeds: BatchRunSeeds
    status: RunStatusEnum
    swept: Any
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.batch_run_seeds import BatchRunSeeds  # noqa: PLC0415

        id = str(self.id)

        progress = self.progress

        record_id: None | str
        record_id = self.record_id

        seeds = self.seeds.to_dict()

        status = self.status.value

        swept = self.swept

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "progress": progress,
                "record_id": record_id,
                "seeds": seeds,
                "status": status,
                "swept": swept,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.batch_run_seeds import BatchRunSeeds  # noqa: PLC0415

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        progress = d.pop("progress")

        def _parse_record_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        record_id = _parse_record_id(d.pop("record_id"))

        seeds = BatchRunSeeds.from_dict(d.pop("seeds"))

        status = RunStatusEnum(d.pop("status"))

        swept = d.pop("swept")

        batch_run = cls(
            id=id,
            progress=progress,
            record_id=record_id,
            seeds=seeds,
            status=status,
            swept=swept,
        )

        batch_run.additional_properties = d
        return batch_run

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
