from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="BatchSummary")


@_attrs_define
class BatchSummary:
    """
    Attributes:
        count (int):
        created_at (datetime.datetime):
        created_by (str):
        finalized_count (int):
        id (UUID):
        live_count (int):
        run_count (int):
        sweep (Any):
        version (str):
        workflow (str):
    """

    count: int
    created_at: datetime.datetime
    created_by: str
    finalized_count: int
    id: UUID
    live_count: int
    run_count: int
    sweep: Any
    version: str
    workflow: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        count = self.count

        created_at = self.created_at.isoformat()

        created_by = self.created_by

        finalized_count = self.finalized_count

        id = str(self.id)

        live_count = self.live_count

        run_count = self.run_count

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
                "finalized_count": finalized_count,
                "id": id,
                "live_count": live_count,
                "run_count": run_count,
                "sweep": sweep,
                "version": version,
                "workflow": workflow,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        count = d.pop("count")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        created_by = d.pop("created_by")

        finalized_count = d.pop("finalized_count")

        id = UUID(d.pop("id"))

        live_count = d.pop("live_count")

        run_count = d.pop("run_count")

        sweep = d.pop("sweep")

        version = d.pop("version")

        workflow = d.pop("workflow")

        batch_summary = cls(
            count=count,
            created_at=created_at,
            created_by=created_by,
            finalized_count=finalized_count,
            id=id,
            live_count=live_count,
            run_count=run_count,
            sweep=sweep,
            version=version,
            workflow=workflow,
        )

        batch_summary.additional_properties = d
        return batch_summary

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
