from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="RecordImportedFromType0")


@_attrs_define
class RecordImportedFromType0:
    """For a record imported from a bundle: where it was made and what it was there; else null.

    Attributes:
        annotated_by (str | Unset):
        approved_at (None | str | Unset):
        approved_by (None | str | Unset):
        imported_at (datetime.datetime | Unset):
        imported_by (str | Unset):
        instance (str | Unset):
        label (str | Unset):
        number (int | None | Unset):
        record_id (UUID | Unset):
    """

    annotated_by: str | Unset = UNSET
    approved_at: None | str | Unset = UNSET
    approved_by: None | str | Unset = UNSET
    imported_at: datetime.datetime | Unset = UNSET
    imported_by: str | Unset = UNSET
    instance: str | Unset = UNSET
    label: str | Unset = UNSET
    number: int | None | Unset = UNSET
    record_id: UUID | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        annotated_by = self.annotated_by

        approved_at: None | str | Unset
        if isinstance(self.approved_at, Unset):
            approved_at = UNSET
        else:
            approved_at = self.approved_at

        approved_by: None | str | Unset
        if isinstance(self.approved_by, Unset):
            approved_by = UNSET
        else:
            approved_by = self.approved_by

        imported_at: str | Unset = UNSET
        if not isinstance(self.imported_at, Unset):
            imported_at = self.imported_at.isoformat()

        imported_by = self.imported_by

        instance = self.instance

        label = self.label

        number: int | None | Unset
        if isinstance(self.number, Unset):
            number = UNSET
        else:
            number = self.number

        record_id: str | Unset = UNSET
        if not isinstance(self.record_id, Unset):
            record_id = str(self.record_id)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if annotated_by is not UNSET:
            field_dict["annotated_by"] = annotated_by
        if approved_at is not UNSET:
            field_dict["approved_at"] = approved_at
        if approved_by is not UNSET:
            field_dict["approved_by"] = approved_by
        if imported_at is not UNSET:
            field_dict["imported_at"] = imported_at
        if imported_by is not UNSET:
            field_dict["imported_by"] = imported_by
        if instance is not UNSET:
            field_dict["instance"] = instance
        if label is not UNSET:
            field_dict["label"] = label
        if number is not UNSET:
            field_dict["number"] = number
        if record_id is not UNSET:
            field_dict["record_id"] = record_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        annotated_by = d.pop("annotated_by", UNSET)

        def _parse_approved_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        approved_at = _parse_approved_at(d.pop("approved_at", UNSET))

        def _parse_approved_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        approved_by = _parse_approved_by(d.pop("approved_by", UNSET))

        _imported_at = d.pop("imported_at", UNSET)
        imported_at: datetime.datetime | Unset
        if isinstance(_imported_at, Unset):
            imported_at = UNSET
        else:
            imported_at = datetime.datetime.fromisoformat(_imported_at)

        imported_by = d.pop("imported_by", UNSET)

        instance = d.pop("instance", UNSET)

        label = d.pop("label", UNSET)

        def _parse_number(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        number = _parse_number(d.pop("number", UNSET))

        _record_id = d.pop("record_id", UNSET)
        record_id: UUID | Unset
        if isinstance(_record_id, Unset):
            record_id = UNSET
        else:
            record_id = UUID(_record_id)

        record_imported_from_type_0 = cls(
            annotated_by=annotated_by,
            approved_at=approved_at,
            approved_by=approved_by,
            imported_at=imported_at,
            imported_by=imported_by,
            instance=instance,
            label=label,
            number=number,
            record_id=record_id,
        )

        record_imported_from_type_0.additional_properties = d
        return record_imported_from_type_0

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
