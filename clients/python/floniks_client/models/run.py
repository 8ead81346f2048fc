from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.mode_enum import ModeEnum
from ..models.run_status_enum import RunStatusEnum
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.gate import Gate
    from ..models.run_gate_type_0 import RunGateType0
    from ..models.run_outputs import RunOutputs
    from ..models.run_step import RunStep


T = TypeVar("T", bound="Run")


@_attrs_define
class Run:
    """
    Attributes:
        annotation (str):
        batch (None | UUID):
        created_at (datetime.datetime):
        created_by (str):
        drift_warnings (Any):
        error (str):
        error_code (str): Why it failed, for machines: step_timeout …
        finished_at (datetime.datetime | None):
        gate (None | RunGateType0): Where a run in awaiting_gate paused: {after}; else null.
        gates (list[Gate]):
        id (UUID):
        inputs (Any):
        label (str):
        mode (ModeEnum): * `discovery` - Discovery
            * `production` - Production
        outputs (RunOutputs):
        progress (float):
        record_id (None | str):
        reproduces (None | UUID):
        retry_of (None | UUID):
        saved_without_annotation (bool):
        spec_hash (str):
        specification (Any):
        started_at (datetime.datetime | None):
        status (RunStatusEnum): * `queued` - Queued
            * `running` - Running
            * `awaiting_gate` - Paused at a gate
            * `awaiting_annotation` - Awaiting annotation
            * `recording` - Writing the record
            * `finalized` - Finalized
            * `failed` - Failed
            * `cancelled` - Cancelled
            * `discarded` - Discarded
        steps (list[RunStep]):
        swept (Any):
        version (str):
        workflow (str):
    """

    annotation: str
    batch: None | UUID
    created_at: datetime.datetime
    created_by: str
    drift_warnings: Any
    error: str
    error_code: str
    finished_at: datetime.datetime | None
    gate: None | RunGateType0
    gates: list[Gate]
    id: UUID
    inputs: Any
    label: str
    mode: ModeEnum
    outputs: RunOutputs
    progress: float
    record_id: None | str
    reproduces: None | UUID
    retry_of: None | UUID
    saved_without_annotation: bool
    spec_hash: str
    specification: Any
    started_at: datetime.datetime | None
    status: RunStatusEnum
    steps: list[RunStep]
    swept: Any
    version: str
    workflow: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.gate import Gate  # noqa: PLC0415
        from ..models.run_gate_type_0 import RunGateType0  # noqa: PLC0415
        from ..models.run_outputs import RunOutputs  # noqa: PLC0415
        from ..models.run_step import RunStep  # noqa: PLC0415

        annotation = self.annotation

        batch: None | str
        if isinstance(self.batch, UUID):
            batch = str(self.batch)
        else:
            batch = self.batch

        created_at = self.created_at.isoformat()

        created_by = self.created_by

        drift_warnings = self.drift_warnings

        error = self.error

        error_code = self.error_code

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        gate: dict[str, Any] | None
        if isinstance(self.gate, RunGateType0):
            gate = self.gate.to_dict()
        else:
            gate = self.gate

        gates = []
        for gates_item_data in self.gates:
            gates_item = gates_item_data.to_dict()
            gates.append(gates_item)

        id = str(self.id)

        inputs = self.inputs

        label = self.label

        mode = self.mode.value

        outputs = self.outputs.to_dict()

        progress = self.progress

        record_id: None | str
        record_id = self.record_id

        reproduces: None | str
        if isinstance(self.reproduces, UUID):
            reproduces = str(self.reproduces)
        else:
            reproduces = self.reproduces

        retry_of: None | str
        if isinstance(self.retry_of, UUID):
            retry_of = str(self.retry_of)
        else:
            retry_of = self.retry_of

        saved_without_annotation = self.saved_without_annotation

        spec_hash = self.spec_hash

        specification = self.specification

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        status = self.status.value

        steps = []
        for steps_item_data in self.steps:
            steps_item = steps_item_data.to_dict()
            steps.append(steps_item)

        swept = self.swept

        version = self.version

        workflow = self.workflow

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "annotation": annotation,
                "batch": batch,
                "created_at": created_at,
                "created_by": created_by,
                "drift_warnings": drift_warnings,
                "error": error,
                "error_code": error_code,
                "finished_at": finished_at,
                "gate": gate,
                "gates": gates,
                "id": id,
                "inputs": inputs,
                "label": label,
                "mode": mode,
                "outputs": outputs,
                "progress": progress,
                "record_id": record_id,
                "reproduces": reproduces,
                "retry_of": retry_of,
                "saved_without_annotation": saved_without_annotation,
                "spec_hash": spec_hash,
                "specification": specification,
                "started_at": started_at,
                "status": status,
                "steps": steps,
                "swept": swept,
                "version": version,
                "workflow": workflow,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gate import Gate  # noqa: PLC0415
        from ..models.run_gate_type_0 import RunGateType0  # noqa: PLC0415
        from ..models.run_outputs import RunOutputs  # noqa: PLC0415
        from ..models.run_step import RunStep  # noqa: PLC0415

        d = dict(src_dict)
        annotation = d.pop("annotation")

        def _parse_batch(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                batch_type_0 = UUID(data)

                return batch_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        batch = _parse_batch(d.pop("batch"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        created_by = d.pop("created_by")

        drift_warnings = d.pop("drift_warnings")

        error = d.pop("error")

        error_code = d.pop("error_code")

        def _parse_finished_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        finished_at = _parse_finished_at(d.pop("finished_at"))

        def _parse_gate(data: object) -> None | RunGateType0:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                gate_type_0 = RunGateType0.from_dict(data)

                return gate_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RunGateType0, data)

        gate = _parse_gate(d.pop("gate"))

        gates = []
        _gates = d.pop("gates")
        for gates_item_data in _gates:
            gates_item = Gate.from_dict(gates_item_data)

            gates.append(gates_item)

        id = UUID(d.pop("id"))

        inputs = d.pop("inputs")

        label = d.pop("label")

        mode = ModeEnum(d.pop("mode"))

        outputs = RunOutputs.from_dict(d.pop("outputs"))

        progress = d.pop("progress")

        def _parse_record_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        record_id = _parse_record_id(d.pop("record_id"))

        def _parse_reproduces(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                reproduces_type_0 = UUID(data)

                return reproduces_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        reproduces = _parse_reproduces(d.pop("reproduces"))

        def _parse_retry_of(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                retry_of_type_0 = UUID(data)

                return retry_of_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        retry_of = _parse_retry_of(d.pop("retry_of"))

        saved_without_annotation = d.pop("saved_without_annotation")

        spec_hash = d.pop("spec_hash")

        specification = d.pop("specification")

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

        status = RunStatusEnum(d.pop("status"))

        steps = []
        _steps = d.pop("steps")
        for steps_item_data in _steps:
            steps_item = RunStep.from_dict(steps_item_data)

            steps.append(steps_item)

        swept = d.pop("swept")

        version = d.pop("version")

        workflow = d.pop("workflow")

        run = cls(
            annotation=annotation,
            batch=batch,
            created_at=created_at,
            created_by=created_by,
            drift_warnings=drift_warnings,
            error=error,
            error_code=error_code,
            finished_at=finished_at,
            gate=gate,
            gates=gates,
            id=id,
            inputs=inputs,
            label=label,
            mode=mode,
            outputs=outputs,
            progress=progress,
            record_id=record_id,
            reproduces=reproduces,
            retry_of=retry_of,
            saved_without_annotation=saved_without_annotation,
            spec_hash=spec_hash,
            specification=specification,
            started_at=started_at,
            status=status,
            steps=steps,
            swept=swept,
            version=version,
            workflow=workflow,
        )

        run.additional_properties = d
        return run

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
