from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.draft_based_on_type_0 import DraftBasedOnType0


T = TypeVar("T", bound="Draft")


@_attrs_define
class Draft:
    """
    Attributes:
        author (None | str):
        based_on (DraftBasedOnType0 | None):
        created_at (datetime.datetime):
        definition (Any):
        id (int):
        published_version (None | str):
        status (str):
        updated_at (datetime.datetime):
        workflow (str):
    """

    author: None | str
    based_on: DraftBasedOnType0 | None
    created_at: datetime.datetime
    definition: Any
    id: int
    published_version: None | str
    status: str
    updated_at: datetime.datetime
    workflow: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.draft_based_on_type_0 import DraftBasedOnType0  # noqa: PLC0415

        author: None | str
        author = self.author

        based_on: dict[str, Any] | None
        if isinstance(self.based_on, DraftBasedOnType0):
            based_on = self.based_on.to_dict()
        else:
            based_on = self.based_on

        created_at = self.created_at.isoformat()

        definition = self.definition

        id = self.id

        published_version: None | str
        published_version = self.published_version

        status = self.status

        updated_at = self.updated_at.isoformat()

        workflow = self.workflow

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "author": author,
                "based_on": based_on,
                "created_at": created_at,
                "definition": definition,
                "id": id,
                "published_version": published_version,
                "status": status,
                "updated_at": updated_at,
                "workflow": workflow,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.draft_based_on_type_0 import DraftBasedOnType0  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_author(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        author = _parse_author(d.pop("author"))

        def _parse_based_on(data: object) -> DraftBasedOnType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                based_on_type_0 = DraftBasedOnType0.from_dict(data)

                return based_on_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DraftBasedOnType0 | None, data)

        based_on = _parse_based_on(d.pop("based_on"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        definition = d.pop("definition")

        id = d.pop("id")

        def _parse_published_version(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        published_version = _parse_published_version(d.pop("published_version"))

        status = d.pop("status")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        workflow = d.pop("workflow")

        draft = cls(
            author=author,
            based_on=based_on,
            created_at=created_at,
            definition=definition,
            id=id,
            published_version=published_version,
            status=status,
            updated_at=updated_at,
            workflow=workflow,
        )

        draft.additional_properties = d
        return draft

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
