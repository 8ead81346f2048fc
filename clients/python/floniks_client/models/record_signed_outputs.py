from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.record_signed_outputs_additional_property import (
        RecordSignedOutputsAdditionalProperty,
    )


T = TypeVar("T", bound="RecordSignedOutputs")


@_attrs_define
class RecordSignedOutputs:
    additional_properties: dict[str, RecordSignedOutputsAdditionalProperty] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.record_signed_outputs_additional_property import (
            RecordSignedOutputsAdditionalProperty,  # noqa: PLC0415
        )

        field_dict: dict[str, Any] = {}
        for prop_name, prop in self.additional_properties.items():
            field_dict[prop_name] = prop.to_dict()

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.record_signed_outputs_additional_property import (
            RecordSignedOutputsAdditionalProperty,  # noqa: PLC0415
        )

        d = dict(src_dict)
        record_signed_outputs = cls()

        additional_properties = {}
        for prop_name, prop_dict in d.items():
            additional_property = RecordSignedOutputsAdditionalProperty.from_dict(prop_dict)

            additional_properties[prop_name] = additional_property

        record_signed_outputs.additional_properties = additional_properties
        return record_signed_outputs

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> RecordSignedOutputsAdditionalProperty:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: RecordSignedOutputsAdditionalProperty) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
