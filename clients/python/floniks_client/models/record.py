from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.mode_enum import ModeEnum
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.check import Check
    from ..models.record_drift_warnings_item import RecordDriftWarningsItem
    from ..models.record_imported_from_type_0 import RecordImportedFromType0
    from ..models.record_signed_outputs import RecordSignedOutputs


T = TypeVar("T", bound="Record")


@_attrs_define
class Record:
    """
    Attributes:
        annotated_by (str):
        annotation (str):
        approved_at (datetime.datetime | None):
        approved_by (None | str):
        checks (list[Check]):
        created_at (datetime.datetime):
        drift_warnings (list[RecordDriftWarningsItem]):
        gates (Any): [{after, continued_by, continued_at}]
        id (UUID):
        imported_from (None | RecordImportedFromType0): For a record imported from a bundle: where it was made and what
            it was there; else null.
        inputs (Any):
        label (str):
        legacy_required (bool):
        manifest_hash (str):
        mode (ModeEnum): * `discovery` - Discovery
            * `production` - Production
        models (Any):
        number (int):
        outputs (Any):
        parameters (Any):
        reference_images (Any):
        run_at (datetime.datetime):
        run_id (UUID):
        saved_without_annotation (bool):
        seeds (Any):
        signed_outputs (RecordSignedOutputs):
        spec_hash (str):
        version (str):
        workflow (str):
    """

    annotated_by: str
    annotation: str
    approved_at: datetime.datetime | None
    approved_by: None | str
    checks: list[Check]
    created_at: datetime.datetime
    drift_warnings: list[RecordDriftWarningsItem]
    gates: Any
    id: UUID
    imported_from: None | RecordImportedFromType0
    inputs: Any
    label: str
    legacy_required: bool
    manifest_hash: str
    mode: ModeEnum
    models: Any
    number: int
    outputs: Any
    parameters: Any
    reference_images: Any
    run_at: datetime.datetime
    run_id: UUID
    saved_without_annotation: bool
    seeds: Any
    signed_outputs: RecordSignedOutputs
    spec_hash: str
    version: str
    workflow: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.check import Check  # noqa: PLC0415
        from ..models.record_drift_warnings_item import RecordDriftWarningsItem  # noqa: PLC0415
        from ..models.record_imported_from_type_0 import RecordImportedFromType0  # noqa: PLC0415
        from ..models.record_signed_outputs import RecordSignedOutputs  # noqa: PLC0415

        annotated_by = self.annotated_by

        annotation = self.annotation

        approved_at: None | str
        if isinstance(self.approved_at, datetime.datetime):
            approved_at = self.approved_at.isoformat()
        else:
            approved_at = self.approved_at

        approved_by: None | str
        approved_by = self.approved_by

        checks = []
        for checks_item_data in self.checks:
            checks_item = checks_item_data.to_dict()
            checks.append(checks_item)

        created_at = self.created_at.isoformat()

        drift_warnings = []
        for drift_warnings_item_data in self.drift_warnings:
            drift_warnings_item = drift_warnings_item_data.to_dict()
            drift_warnings.append(drift_warnings_item)

        gates = self.gates

        id = str(self.id)

        imported_from: dict[str, Any] | None
        if isinstance(self.imported_from, RecordImportedFromType0):
            imported_from = self.imported_from.to_dict()
        else:
            imported_from = self.imported_from

        inputs = self.inputs

        label = self.label

        legacy_required = self.legacy_required

        manifest_hash = self.manifest_hash

        mode = self.mode.value

        models = self.models

        number = self.number

        outputs = self.outputs

        parameters = self.parameters

        reference_images = self.reference_images

        run_at = self.run_at.isoformat()

        run_id = str(self.run_id)

        saved_without_annotation = self.saved_without_annotation

        seeds = self.seeds

        signed_outputs = self.signed_outputs.to_dict()

        spec_hash = self.spec_hash

        version = self.version

        workflow = self.workflow

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "annotated_by": annotated_by,
                "annotation": annotation,
                "approved_at": approved_at,
                "approved_by": approved_by,
                "checks": checks,
                "created_at": created_at,
                "drift_warnings": drift_warnings,
                "gates": gates,
                "id": id,
                "imported_from": imported_from,
                "inputs": inputs,
                "label": label,
                "legacy_required": legacy_required,
                "manifest_hash": manifest_hash,
                "mode": mode,
                "models": models,
                "number": number,
                "outputs": outputs,
                "parameters": parameters,
                "reference_images": reference_images,
                "run_at": run_at,
                "run_id": run_id,
                "saved_without_annotation": saved_without_annotation,
                "seeds": seeds,
                "signed_outputs": signed_outputs,
                "spec_hash": spec_hash,
                "version": version,
                "workflow": workflow,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.check import Check  # noqa: PLC0415
        from ..models.record_drift_warnings_item import RecordDriftWarningsItem  # noqa: PLC0415
        from ..models.record_imported_from_type_0 import RecordImportedFromType0  # noqa: PLC0415
        from ..models.record_signed_outputs import RecordSignedOutputs  # noqa: PLC0415

        d = dict(src_dict)
        annotated_by = d.pop("annotated_by")

        annotation = d.pop("annotation")

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

        checks = []
        _checks = d.pop("checks")
        for checks_item_data in _checks:
            checks_item = Check.from_dict(checks_item_data)

            checks.append(checks_item)

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        drift_warnings = []
        _drift_warnings = d.pop("drift_warnings")
        for drift_warnings_item_data in _drift_warnings:
            drift_warnings_item = RecordDriftWarningsItem.from_dict(drift_warnings_item_data)

            drift_warnings.append(drift_warnings_item)

        gates = d.pop("gates")

        id = UUID(d.pop("id"))

        def _parse_imported_from(data: object) -> None | RecordImportedFromType0:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                imported_from_type_0 = RecordImportedFromType0.from_dict(data)

                return imported_from_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RecordImportedFromType0, data)

        imported_from = _parse_imported_from(d.pop("imported_from"))

        inputs = d.pop("inputs")

        label = d.pop("label")

        legacy_required = d.pop("legacy_required")

        manifest_hash = d.pop("manifest_hash")

        mode = ModeEnum(d.pop("mode"))

        models = d.pop("models")

        number = d.pop("number")

        outputs = d.pop("outputs")

        parameters = d.pop("parameters")

        reference_images = d.pop("reference_images")

        run_at = datetime.datetime.fromisoformat(d.pop("run_at"))

        run_id = UUID(d.pop("run_id"))

        saved_without_annotation = d.pop("saved_without_annotation")

        seeds = d.pop("seeds")

        signed_outputs = RecordSignedOutputs.from_dict(d.pop("signed_outputs"))

        spec_hash = d.pop("spec_hash")

        version = d.pop("version")

        workflow = d.pop("workflow")

        record = cls(
            annotated_by=annotated_by,
            annotation=annotation,
            approved_at=approved_at,
            approved_by=approved_by,
            checks=checks,
            created_at=created_at,
            drift_warnings=drift_warnings,
            gates=gates,
            id=id,
            imported_from=imported_from,
            inputs=inputs,
            label=label,
            legacy_required=legacy_required,
            manifest_hash=manifest_hash,
            mode=mode,
            models=models,
            number=number,
            outputs=outputs,
            parameters=parameters,
            reference_images=reference_images,
            run_at=run_at,
            run_id=run_id,
            saved_without_annotation=saved_without_annotation,
            seeds=seeds,
            signed_outputs=signed_outputs,
            spec_hash=spec_hash,
            version=version,
            workflow=workflow,
        )

        record.additional_properties = d
        return record

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
