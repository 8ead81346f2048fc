from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.lifecycle_enum import LifecycleEnum
from ..models.mode_enum import ModeEnum
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.workflow_derived_from_type_0 import WorkflowDerivedFromType0
    from ..models.workflow_drift_warnings_item import WorkflowDriftWarningsItem
    from ..models.workflow_production_pin_type_0 import WorkflowProductionPinType0


T = TypeVar("T", bound="Workflow")


@_attrs_define
class Workflow:
    """
    Attributes:
        approved_at (datetime.datetime | None):
        approved_by (None | str):
        canonical_version (None | str):
        created_at (datetime.datetime):
        derived_from (None | WorkflowDerivedFromType0):
        description (str):
        direction_label (str):
        drift_warnings (list[WorkflowDriftWarningsItem]): Computed for one workflow at a time (answers about one
            workflow); lists leave it empty.
        lifecycle (LifecycleEnum): * `exploring` - Exploring
            * `production` - Production
            * `archived` - Archived
        mode (ModeEnum): * `discovery` - Discovery
            * `production` - Production
        name (str):
        production_pin (None | WorkflowProductionPinType0):
        slug (str):
        spawned_from (None | str):
        updated_at (datetime.datetime):
    """

    approved_at: datetime.datetime | None
    approved_by: None | str
    canonical_version: None | str
    created_at: datetime.datetime
    derived_from: None | WorkflowDerivedFromType0
    description: str
    direction_label: str
    drift_warnings: list[WorkflowDriftWarningsItem]
    lifecycle: LifecycleEnum
    mode: ModeEnum
    name: str
    production_pin: None | WorkflowProductionPinType0
    slug: str
    spawned_from: None | str
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.workflow_derived_from_type_0 import WorkflowDerivedFromType0  # noqa: PLC0415
        from ..models.workflow_drift_warnings_item import WorkflowDriftWarningsItem  # noqa: PLC0415
        from ..models.workflow_production_pin_type_0 import WorkflowProductionPinType0  # noqa: PLC0415

        approved_at: None | str
        if isinstance(self.approved_at, datetime.datetime):
            approved_at = self.approved_at.isoformat()
        else:
            approved_at = self.approved_at

        approved_by: None | str
        approved_by = self.approved_by

        canonical_version: None | str
        canonical_version = self.canonical_version

        created_at = self.created_at.isoformat()

        derived_from: dict[str, Any] | None
        if isinstance(self.derived_from, WorkflowDerivedFromType0):
            derived_from = self.derived_from.to_dict()
        else:
            derived_from = self.derived_from

        description = self.description

        direction_label = self.direction_label

        drift_warnings = []
        for drift_warnings_item_data in self.drift_warnings:
            drift_warnings_item = drift_warnings_item_data.to_dict()
            drift_warnings.append(drift_warnings_item)

        lifecycle = self.lifecycle.value

        mode = self.mode.value

        name = self.name

        production_pin: dict[str, Any] | None
        if isinstance(self.production_pin, WorkflowProductionPinType0):
            production_pin = self.production_pin.to_dict()
        else:
            production_pin = self.production_pin

        slug = self.slug

        spawned_from: None | str
        spawned_from = self.spawned_from

        updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "approved_at": approved_at,
                "approved_by": approved_by,
                "canonical_version": canonical_version,
                "created_at": created_at,
                "derived_from": derived_from,
                "description": description,
                "direction_label": direction_label,
                "drift_warnings": drift_warnings,
                "lifecycle": lifecycle,
                "mode": mode,
                "name": name,
                "production_pin": production_pin,
                "slug": slug,
                "spawned_from": spawned_from,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.workflow_derived_from_type_0 import WorkflowDerivedFromType0  # noqa: PLC0415
        from ..models.workflow_drift_warnings_item import WorkflowDriftWarningsItem  # noqa: PLC0415
        from ..models.workflow_production_pin_type_0 import WorkflowProductionPinType0  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_approved_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                approved_at_type_0 = datetime.datetime.fromisoformat(data)

                return approved_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        approved_at = _parse_approved_at(d.pop("approved_at"))

        def _parse_approved_by(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        approved_by = _parse_approved_by(d.pop("approved_by"))

        def _parse_canonical_version(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        canonical_version = _parse_canonical_version(d.pop("canonical_version"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_derived_from(data: object) -> None | WorkflowDerivedFromType0:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                derived_from_type_0 = WorkflowDerivedFromType0.from_dict(data)

                return derived_from_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | WorkflowDerivedFromType0, data)

        derived_from = _parse_derived_from(d.pop("derived_from"))

        description = d.pop("description")

        direction_label = d.pop("direction_label")

        drift_warnings = []
        _drift_warnings = d.pop("drift_warnings")
        for drift_warnings_item_data in _drift_warnings:
            drift_warnings_item = WorkflowDriftWarningsItem.from_dict(drift_warnings_item_data)

            drift_warnings.append(drift_warnings_item)

        lifecycle = LifecycleEnum(d.pop("lifecycle"))

        mode = ModeEnum(d.pop("mode"))

        name = d.pop("name")

        def _parse_production_pin(data: object) -> None | WorkflowProductionPinType0:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                production_pin_type_0 = WorkflowProductionPinType0.from_dict(data)

                return production_pin_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | WorkflowProductionPinType0, data)

        production_pin = _parse_production_pin(d.pop("production_pin"))

        slug = d.pop("slug")

        def _parse_spawned_from(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        spawned_from = _parse_spawned_from(d.pop("spawned_from"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        workflow = cls(
            approved_at=approved_at,
            approved_by=approved_by,
            canonical_version=canonical_version,
            created_at=created_at,
            derived_from=derived_from,
            description=description,
            direction_label=direction_label,
            drift_warnings=drift_warnings,
            lifecycle=lifecycle,
            mode=mode,
            name=name,
            production_pin=production_pin,
            slug=slug,
            spawned_from=spawned_from,
            updated_at=updated_at,
        )

        workflow.additional_properties = d
        return workflow

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
