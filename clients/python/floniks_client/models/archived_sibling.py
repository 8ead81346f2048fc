from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ArchivedSibling")


@_attrs_define
class ArchivedSibling:
    """A sibling that approving a direction archives, with what it holds (runs_app.approval.ArchivedSibling).

    Attributes:
        approved_records (int):
        canonical_version (None | str):
        direction_label (str):
        lifecycle (str):
        mode (str):
        production_pin (None | str): label of the record its production pin is from
        slug (str):
    """

    approved_records: int
    canonical_version: None | str
    direction_label: str
    lifecycle: str
    mode: str
    production_pin: None | str
    slug: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        approved_records = self.approved_records

        canonical_version: None | str
        canonical_version = self.canonical_version

        direction_label = self.direction_label

        lifecycle = self.lifecycle

        mode = self.mode

        production_pin: None | str
        production_pin = self.production_pin

        slug = self.slug

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "approved_records": approved_records,
                "canonical_version": canonical_version,
                "direction_label": direction_label,
                "lifecycle": lifecycle,
                "mode": mode,
                "production_pin": production_pin,
                "slug": slug,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        approved_records = d.pop("approved_records")

        def _parse_canonical_version(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        canonical_version = _parse_canonical_version(d.pop("canonical_version"))

        direction_label = d.pop("direction_label")

        lifecycle = d.pop("lifecycle")

        mode = d.pop("mode")

        def _parse_production_pin(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        production_pin = _parse_production_pin(d.pop("production_pin"))

        slug = d.pop("slug")

        archived_sibling = cls(
            approved_records=approved_records,
            canonical_version=canonical_version,
            direction_label=direction_label,
            lifecycle=lifecycle,
            mode=mode,
            production_pin=production_pin,
            slug=slug,
        )

        archived_sibling.additional_properties = d
        return archived_sibling

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
