from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.tree_node_children_item import TreeNodeChildrenItem


T = TypeVar("T", bound="TreeNode")


@_attrs_define
class TreeNode:
    """
    Attributes:
        canonical_version (None | str):
        children (list[TreeNodeChildrenItem]):
        derived_from_version (None | str):
        direction_label (str):
        lifecycle (str):
        name (str):
        slug (str):
    """

    canonical_version: None | str
    children: list[TreeNodeChildrenItem]
    derived_from_version: None | str
    direction_label: str
    lifecycle: str
    name: str
    slug: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.tree_node_children_item import TreeNodeChildrenItem  # noqa: PLC0415

        canonical_version: None | str
        canonical_version = self.canonical_version

        children = []
        for children_item_data in self.children:
            children_item = children_item_data.to_dict()
            children.append(children_item)

        derived_from_version: None | str
        derived_from_version = self.derived_from_version

        direction_label = self.direction_label

        lifecycle = self.lifecycle

        name = self.name

        slug = self.slug

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "canonical_version": canonical_version,
                "children": children,
                "derived_from_version": derived_from_version,
                "direction_label": direction_label,
                "lifecycle": lifecycle,
                "name": name,
                "slug": slug,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tree_node_children_item import TreeNodeChildrenItem  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_canonical_version(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        canonical_version = _parse_canonical_version(d.pop("canonical_version"))

        children = []
        _children = d.pop("children")
        for children_item_data in _children:
            children_item = TreeNodeChildrenItem.from_dict(children_item_data)

            children.append(children_item)

        def _parse_derived_from_version(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        derived_from_version = _parse_derived_from_version(d.pop("derived_from_version"))

        direction_label = d.pop("direction_label")

        lifecycle = d.pop("lifecycle")

        name = d.pop("name")

        slug = d.pop("slug")

        tree_node = cls(
            canonical_version=canonical_version,
            children=children,
            derived_from_version=derived_from_version,
            direction_label=direction_label,
            lifecycle=lifecycle,
            name=name,
            slug=slug,
        )

        tree_node.additional_properties = d
        return tree_node

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
