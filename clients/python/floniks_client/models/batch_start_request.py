from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="BatchStartRequest")


@_attrs_define
class BatchStartRequest:
    """
    Attributes:
        workflow (str): The workflow's slug.
        count (Any | Unset): Runs with fresh seeds (1..64); with a sweep, seed sets per combination.
        inputs (Any | Unset):
        sweep (Any | Unset): {"<step>.<param>": [values]} over one or two parameters; the product ≤ 64.
        version (str | Unset): Canonical when left out.
    """

    workflow: str
    count: Any | Unset = UNSET
    inputs: Any | Unset = UNSET
    sweep: Any | Unset = UNSET
    version: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        workflow = self.workflow

        count = self.count

        inputs = self.inputs

        sweep = self.sweep

        version = self.version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "workflow": workflow,
            }
        )
        if count is not UNSET:
            field_dict["count"] = count
        if inputs is not UNSET:
            field_dict["inputs"] = inputs
        if sweep is not UNSET:
            field_dict["sweep"] = sweep
        if version is not UNSET:
            field_dict["version"] = version

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        workflow = d.pop("workflow")

        count = d.pop("count", UNSET)

        inputs = d.pop("inputs", UNSET)

        sweep = d.pop("sweep", UNSET)

        version = d.pop("version", UNSET)

        batch_start_request = cls(
            workflow=workflow,
            count=count,
            inputs=inputs,
            sweep=sweep,
            version=version,
        )

        batch_start_request.additional_properties = d
        return batch_start_request

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
