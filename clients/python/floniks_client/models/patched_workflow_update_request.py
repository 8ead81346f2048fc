from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.mode_enum import ModeEnum
from ..types import UNSET, Unset

T = TypeVar("T", bound="PatchedWorkflowUpdateRequest")


@_attrs_define
class PatchedWorkflowUpdateRequest:
    """
    Attributes:
        description (str | Unset):
        mode (ModeEnum | Unset): * `discovery` - Discovery
            * `production` - Production
        name (str | Unset):
        pin_record (str | Unset):
    """

    description: str | Unset = UNSET
    mode: ModeEnum | Unset = UNSET
    name: str | Unset = UNSET
    pin_record: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        description = self.description

        mode: str | Unset = UNSET
        if not isinstance(self.mode, Unset):
            mode = self.mode.value

        name = self.name

        pin_record = self.pin_record

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if description is not UNSET:
            field_dict["description"] = description
        if mode is not UNSET:
            field_dict["mode"] = mode
        if name is not UNSET:
            field_dict["name"] = name
        if pin_record is not UNSET:
            field_dict["pin_record"] = pin_record

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        description = d.pop("description", UNSET)

        _mode = d.pop("mode", UNSET)
        mode: ModeEnum | Unset
        if isinstance(_mode, Unset):
            mode = UNSET
        else:
            mode = ModeEnum(_mode)

        name = d.pop("name", UNSET)

        pin_record = d.pop("pin_record", UNSET)

        patched_workflow_update_request = cls(
            description=description,
            mode=mode,
            name=name,
            pin_record=pin_record,
        )

        patched_workflow_update_request.additional_properties = d
        return patched_workflow_update_request

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
