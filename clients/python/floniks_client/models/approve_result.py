from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.archived_sibling import ArchivedSibling
    from ..models.workflow import Workflow


T = TypeVar("T", bound="ApproveResult")


@_attrs_define
class ApproveResult:
    """
    Attributes:
        archived (list[str]):
        impact (list[ArchivedSibling]):
        workflow (Workflow):
    """

    archived: list[str]
    impact: list[ArchivedSibling]
    workflow: Workflow
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.archived_sibling import ArchivedSibling  # noqa: PLC0415
        from ..models.workflow import Workflow  # noqa: PLC0415

        archived = self.archived

        impact = []
        for impact_item_data in self.impact:
            impact_item = impact_item_data.to_dict()
            impact.append(impact_item)

        workflow = self.workflow.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "archived": archived,
                "impact": impact,
                "workflow": workflow,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.archived_sibling import ArchivedSibling  # noqa: PLC0415
        from ..models.workflow import Workflow  # noqa: PLC0415

        d = dict(src_dict)
        archived = cast(list[str], d.pop("archived"))

        impact = []
        _impact = d.pop("impact")
        for impact_item_data in _impact:
            impact_item = ArchivedSibling.from_dict(impact_item_data)

            impact.append(impact_item)

        workflow = Workflow.from_dict(d.pop("workflow"))

        approve_result = cls(
            archived=archived,
            impact=impact,
            workflow=workflow,
        )

        approve_result.additional_properties = d
        return approve_result

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
