from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="FinalizeRequest")


@_attrs_define
class FinalizeRequest:
    """
    Attributes:
        annotation (str | Unset):  Default: ''.
        confirm_no_annotation (bool | Unset):  Default: False.
        label (str | Unset):  Default: ''.
    """

    annotation: str | Unset = ""
    confirm_no_annotation: bool | Unset = False
    label: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        annotation = self.annotation

        confirm_no_annotation = self.confirm_no_annotation

        label = self.label

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if annotation is not UNSET:
            field_dict["annotation"] = annotation
        if confirm_no_annotation is not UNSET:
            field_dict["confirm_no_annotation"] = confirm_no_annotation
        if label is not UNSET:
            field_dict["label"] = label

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        annotation = d.pop("annotation", UNSET)

        confirm_no_annotation = d.pop("confirm_no_annotation", UNSET)

        label = d.pop("label", UNSET)

        finalize_request = cls(
            annotation=annotation,
            confirm_no_annotation=confirm_no_annotation,
            label=label,
        )

        finalize_request.additional_properties = d
        return finalize_request

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
