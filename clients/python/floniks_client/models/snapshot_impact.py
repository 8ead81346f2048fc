from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.pinned_version import PinnedVersion


T = TypeVar("T", bound="SnapshotImpact")


@_attrs_define
class SnapshotImpact:
    """What retiring a snapshot, or moving its family's default away from it, touches (runs_app.impact).

    Attributes:
        approved_records (int):
        family (str):
        floating_workflows (list[str]): Workflows whose canonical version floats on the family (default).
        is_default (bool):
        pinned_versions (list[PinnedVersion]):
        pinned_workflows (list[str]):
        production_pins (list[str]):
        records (int):
        runs_in_flight (int):
        snapshot (str):
        status (str):
    """

    approved_records: int
    family: str
    floating_workflows: list[str]
    is_default: bool
    pinned_versions: list[PinnedVersion]
    pinned_workflows: list[str]
    production_pins: list[str]
    records: int
    runs_in_flight: int
    snapshot: str
    status: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.pinned_version import PinnedVersion  # noqa: PLC0415

        approved_records = self.approved_records

        family = self.family

        floating_workflows = self.floating_workflows

        is_default = self.is_default

        pinned_versions = []
        for pinned_versions_item_data in self.pinned_versions:
            pinned_versions_item = pinned_versions_item_data.to_dict()
            pinned_versions.append(pinned_versions_item)

        pinned_workflows = self.pinned_workflows

        production_pins = self.production_pins

        records = self.records

        runs_in_flight = self.runs_in_flight

        snapshot = self.snapshot

        status = self.status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "approved_records": approved_records,
                "family": family,
                "floating_workflows": floating_workflows,
                "is_default": is_default,
                "pinned_versions": pinned_versions,
                "pinned_workflows": pinned_workflows,
                "production_pins": production_pins,
                "records": records,
                "runs_in_flight": runs_in_flight,
                "snapshot": snapshot,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.pinned_version import PinnedVersion  # noqa: PLC0415

        d = dict(src_dict)
        approved_records = d.pop("approved_records")

        family = d.pop("family")

        floating_workflows = cast(list[str], d.pop("floating_workflows"))

        is_default = d.pop("is_default")

        pinned_versions = []
        _pinned_versions = d.pop("pinned_versions")
        for pinned_versions_item_data in _pinned_versions:
            pinned_versions_item = PinnedVersion.from_dict(pinned_versions_item_data)

            pinned_versions.append(pinned_versions_item)

        pinned_workflows = cast(list[str], d.pop("pinned_workflows"))

        production_pins = cast(list[str], d.pop("production_pins"))

        records = d.pop("records")

        runs_in_flight = d.pop("runs_in_flight")

        snapshot = d.pop("snapshot")

        status = d.pop("status")

        snapshot_impact = cls(
            approved_records=approved_records,
            family=family,
            floating_workflows=floating_workflows,
            is_default=is_default,
            pinned_versions=pinned_versions,
            pinned_workflows=pinned_workflows,
            production_pins=production_pins,
            records=records,
            runs_in_flight=runs_in_flight,
            snapshot=snapshot,
            status=status,
        )

        snapshot_impact.additional_properties = d
        return snapshot_impact

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
