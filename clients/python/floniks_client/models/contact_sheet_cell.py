from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.lifecycle_enum import LifecycleEnum
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.contact_sheet_cell_outputs import ContactSheetCellOutputs


T = TypeVar("T", bound="ContactSheetCell")


@_attrs_define
class ContactSheetCell:
    """
    Attributes:
        direction_label (str):
        label (str):
        lifecycle (LifecycleEnum): * `exploring` - Exploring
            * `production` - Production
            * `archived` - Archived
        outputs (ContactSheetCellOutputs):
        position (int):
        run (UUID):
        status (str):
        version (str):
        workflow (str):
    """

    direction_label: str
    label: str
    lifecycle: LifecycleEnum
    outputs: ContactSheetCellOutputs
    position: int
    run: UUID
    status: str
    version: str
    workflow: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.contact_sheet_cell_outputs import ContactSheetCellOutputs  # noqa: PLC0415

        direction_label = self.direction_label

        label = self.label

        lifecycle = self.lifecycle.value

        outputs = self.outputs.to_dict()

        position = self.position

        run = str(self.run)

        status = self.status

        version = self.version

        workflow = self.workflow

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "direction_label": direction_label,
                "label": label,
                "lifecycle": lifecycle,
                "outputs": outputs,
                "position": position,
                "run": run,
                "status": status,
                "version": version,
                "workflow": workflow,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.contact_sheet_cell_outputs import ContactSheetCellOutputs  # noqa: PLC0415

        d = dict(src_dict)
        direction_label = d.pop("direction_label")

        label = d.pop("label")

        lifecycle = LifecycleEnum(d.pop("lifecycle"))

        outputs = ContactSheetCellOutputs.from_dict(d.pop("outputs"))

        position = d.pop("position")

        run = UUID(d.pop("run"))

        status = d.pop("status")

        version = d.pop("version")

        workflow = d.pop("workflow")

        contact_sheet_cell = cls(
            direction_label=direction_label,
            label=label,
            lifecycle=lifecycle,
            outputs=outputs,
            position=position,
            run=run,
            status=status,
            version=version,
            workflow=workflow,
        )

        contact_sheet_cell.additional_properties = d
        return contact_sheet_cell

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
