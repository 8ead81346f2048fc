from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.model_snapshot_status_enum import ModelSnapshotStatusEnum
from ..types import UNSET, Unset

T = TypeVar("T", bound="ModelSnapshot")


@_attrs_define
class ModelSnapshot:
    """
    Attributes:
        family (str):
        is_default (bool):
        provider (str):
        snapshot (str): Release date, YYYY-MM-DD.
        tier (str):
        status (ModelSnapshotStatusEnum | Unset): * `available` - Available
            * `retired` - Retired
    """

    family: str
    is_default: bool
    provider: str
    snapshot: str
    tier: str
    status: ModelSnapshotStatusEnum | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        family = self.family

        is_default = self.is_default

        provider = self.provider

        snapshot = self.snapshot

        tier = self.tier

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "family": family,
                "is_default": is_default,
                "provider": provider,
                "snapshot": snapshot,
                "tier": tier,
            }
        )
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        family = d.pop("family")

        is_default = d.pop("is_default")

        provider = d.pop("provider")

        snapshot = d.pop("snapshot")

        tier = d.pop("tier")

        _status = d.pop("status", UNSET)
        status: ModelSnapshotStatusEnum | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = ModelSnapshotStatusEnum(_status)

        model_snapshot = cls(
            family=family,
            is_default=is_default,
            provider=provider,
            snapshot=snapshot,
            tier=tier,
            status=status,
        )

        model_snapshot.additional_properties = d
        return model_snapshot

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
