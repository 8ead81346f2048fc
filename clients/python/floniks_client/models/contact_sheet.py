from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.evidence_status_enum import EvidenceStatusEnum
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.contact_sheet_cell import ContactSheetCell


T = TypeVar("T", bound="ContactSheet")


@_attrs_define
class ContactSheet:
    """
    Attributes:
        base (str):
        cells (list[ContactSheetCell]):
        completed_at (datetime.datetime | None):
        created_at (datetime.datetime):
        id (UUID):
        image_url (None | str):
        include_archived (bool):
        inputs (Any):
        note (str):
        seed (int): Every seeded step of every cell ran with it.
        status (EvidenceStatusEnum): * `running` - Rendering
            * `done` - Done
            * `failed` - Failed
        url (str):
    """

    base: str
    cells: list[ContactSheetCell]
    completed_at: datetime.datetime | None
    created_at: datetime.datetime
    id: UUID
    image_url: None | str
    include_archived: bool
    inputs: Any
    note: str
    seed: int
    status: EvidenceStatusEnum
    url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.contact_sheet_cell import ContactSheetCell  # noqa: PLC0415

        base = self.base

        cells = []
        for cells_item_data in self.cells:
            cells_item = cells_item_data.to_dict()
            cells.append(cells_item)

        completed_at: None | str
        if isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        created_at = self.created_at.isoformat()

        id = str(self.id)

        image_url: None | str
        image_url = self.image_url

        include_archived = self.include_archived

        inputs = self.inputs

        note = self.note

        seed = self.seed

        status = self.status.value

        url = self.url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "base": base,
                "cells": cells,
                "completed_at": completed_at,
                "created_at": created_at,
                "id": id,
                "image_url": image_url,
                "include_archived": include_archived,
                "inputs": inputs,
                "note": note,
                "seed": seed,
                "status": status,
                "url": url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.contact_sheet_cell import ContactSheetCell  # noqa: PLC0415

        d = dict(src_dict)
        base = d.pop("base")

        cells = []
        _cells = d.pop("cells")
        for cells_item_data in _cells:
            cells_item = ContactSheetCell.from_dict(cells_item_data)

            cells.append(cells_item)

        def _parse_completed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        completed_at = _parse_completed_at(d.pop("completed_at"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        id = UUID(d.pop("id"))

        def _parse_image_url(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        image_url = _parse_image_url(d.pop("image_url"))

        include_archived = d.pop("include_archived")

        inputs = d.pop("inputs")

        note = d.pop("note")

        seed = d.pop("seed")

        status = EvidenceStatusEnum(d.pop("status"))

        url = d.pop("url")

        contact_sheet = cls(
            base=base,
            cells=cells,
            completed_at=completed_at,
            created_at=created_at,
            id=id,
            image_url=image_url,
            include_archived=include_archived,
            inputs=inputs,
            note=note,
            seed=seed,
            status=status,
            url=url,
        )

        contact_sheet.additional_properties = d
        return contact_sheet

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
