from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ModelSnapshotCreateRequest")


@_attrs_define
class ModelSnapshotCreateRequest:
    """
    Attributes:
        family (str):
        snapshot (str):
        make_default (bool | Unset):  Default: False.
        provider (str | Unset):
        tier (str | Unset):
    """

    family: str
    snapshot: str
    make_default: bool | Unset = False
    provider: str | Unset = UNSET
    tier: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        family = self.family

        snapshot = self.snapshot

        make_default = self.make_default

        provider = self.provider

        tier = self.tier

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "family": family,
                "snapshot": snapshot,
            }
        )
        if make_default is not UNSET:
            field_dict["make_default"] = make_default
        if provider is not UNSET:
            field_dict["provider"] = provider
        if tier is not UNSET:
            field_dict["tier"] = tier

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        family = d.pop("family")

        snapshot = d.pop("snapshot")

        make_default = d.pop("make_default", UNSET)

        provider = d.pop("provider", UNSET)

        tier = d.pop("tier", UNSET)

        model_snapshot_create_request = cls(
            family=family,
            snapshot=snapshot,
            make_default=make_default,
            provider=provider,
            tier=tier,
        )

        model_snapshot_create_request.additional_properties = d
        return model_snapshot_create_request

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
