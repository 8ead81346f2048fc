from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Gate")


@_attrs_define
class Gate:
    """
    Attributes:
        after (str): The step after which the run paused.
        continued_at (datetime.datetime | None):
        continued_by (None | str):
        reached_at (datetime.datetime):
    """

    after: str
    continued_at: datetime.datetime | None
    continued_by: None | str
    reached_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        after = self.after

        continued_at: None | str
        if isinstance(self.continued_at, datetime.datetime):
            continued_at = self.continued_at.isoformat()
        else:
            continued_at = self.continued_at

        continued_by: None | str
        continued_by = self.continued_by

        reached_at = self.reached_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "after": after,
                "continued_at": continued_at,
                "continued_by": continued_by,
                "reached_at": reached_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        after = d.pop("after")

        def _parse_continued_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                continued_at_type_0 = datetime.datetime.fromisoformat(data)

                return continued_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        continued_at = _parse_continued_at(d.pop("continued_at"))

        def _parse_continued_by(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        continued_by = _parse_continued_by(d.pop("continued_by"))

        reached_at = datetime.datetime.fromisoformat(d.pop("reached_at"))

        gate = cls(
            after=after,
            continued_at=continued_at,
            continued_by=continued_by,
            reached_at=reached_at,
        )

        gate.additional_properties = d
        return gate

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
