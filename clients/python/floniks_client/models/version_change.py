from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.op_enum import OpEnum
from ..types import UNSET, Unset

T = TypeVar("T", bound="VersionChange")


@_attrs_define
class VersionChange:
    """
    Attributes:
        from_ (Any):
        op (OpEnum): * `add` - add
            * `remove` - remove
            * `replace` - replace
        path (str): A JSON Pointer into the definition.
        to (Any):
    """

    from_: Any
    op: OpEnum
    path: str
    to: Any
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from_ = self.from_

        op = self.op.value

        path = self.path

        to = self.to

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "from": from_,
                "op": op,
                "path": path,
                "to": to,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        from_ = d.pop("from")

        op = OpEnum(d.pop("op"))

        path = d.pop("path")

        to = d.pop("to")

        version_change = cls(
            from_=from_,
            op=op,
            path=path,
            to=to,
        )

        version_change.additional_properties = d
        return version_change

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
