from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.archived_sibling import ArchivedSibling


T = TypeVar("T", bound="ApprovePreview")


@_attrs_define
class ApprovePreview:
    """
    Attributes:
        will_archive (list[ArchivedSibling]):
        workflow (str):
    """

    will_archive: list[ArchivedSibling]
    workflow: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.archived_sibling import ArchivedSibling  # noqa: PLC0415

        will_archive = []
        for will_archive_item_data in self.will_archive:
            will_archive_item = will_archive_item_data.to_dict()
            will_archive.append(will_archive_item)

        workflow = self.workflow

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "will_archive": will_archive,
                "workflow": workflow,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.archived_sibling import ArchivedSibling  # noqa: PLC0415

        d = dict(src_dict)
        will_archive = []
        _will_archive = d.pop("will_archive")
        for will_archive_item_data in _will_archive:
            will_archive_item = ArchivedSibling.from_dict(will_archive_item_data)

            will_archive.append(will_archive_item)

        workflow = d.pop("workflow")

        approve_preview = cls(
            will_archive=will_archive,
            workflow=workflow,
        )

        approve_preview.additional_properties = d
        return approve_preview

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
