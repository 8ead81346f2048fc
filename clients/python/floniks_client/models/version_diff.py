from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.version_change import VersionChange


T = TypeVar("T", bound="VersionDiff")


@_attrs_define
class VersionDiff:
    """
    Attributes:
        bump (str):
        changes (list[VersionChange]):
        from_ (str):
        reasons (list[str]):
        to (str):
    """

    bump: str
    changes: list[VersionChange]
    from_: str
    reasons: list[str]
    to: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.version_change import VersionChange  # noqa: PLC0415

        bump = self.bump

        changes = []
        for changes_item_data in self.changes:
            changes_item = changes_item_data.to_dict()
            changes.append(changes_item)

        from_ = self.from_

        reasons = self.reasons

        to = self.to

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bump": bump,
                "changes": changes,
                "from": from_,
                "reasons": reasons,
                "to": to,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.version_change import VersionChange  # noqa: PLC0415

        d = dict(src_dict)
        bump = d.pop("bump")

        changes = []
        _changes = d.pop("changes")
        for changes_item_data in _changes:
            changes_item = VersionChange.from_dict(changes_item_data)

            changes.append(changes_item)

        from_ = d.pop("from")

        reasons = cast(list[str], d.pop("reasons"))

        to = d.pop("to")

        version_diff = cls(
            bump=bump,
            changes=changes,
            from_=from_,
            reasons=reasons,
            to=to,
        )

        version_diff.additional_properties = d
        return version_diff

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
