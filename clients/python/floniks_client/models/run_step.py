from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.run_step_status_enum import RunStepStatusEnum
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.run_step_outputs_item import RunStepOutputsItem


T = TypeVar("T", bound="RunStep")


@_attrs_define
class RunStep:
    """
    Attributes:
        attempts (int):
        duration_ms (int | None):
        error (str):
        error_code (str):
        fingerprint (Any): The environment that generated it.
        finished_at (datetime.datetime | None):
        id (str):
        kind (str):
        model (str):
        outputs (list[RunStepOutputsItem]):
        params (Any):
        progress (float):
        progress_message (str):
        queue (str):
        reused (bool): A retried run's step whose output was reused, not generated.
        seed (int | None):
        started_at (datetime.datetime | None):
        status (RunStepStatusEnum): * `pending` - Pending
            * `queued` - Queued
            * `running` - Running
            * `succeeded` - Succeeded
            * `failed` - Failed
            * `cancelled` - Cancelled
            * `skipped` - Skipped
        submitted (Any): What was sent to an external provider.
    """

    attempts: int
    duration_ms: int | None
    error: str
    error_code: str
    fingerprint: Any
    finished_at: datetime.datetime | None
    id: str
    kind: str
    model: str
    outputs: list[RunStepOutputsItem]
    params: Any
    progress: float
    progress_message: str
    queue: str
    reused: bool
    seed: int | None
    started_at: datetime.datetime | None
    status: RunStepStatusEnum
    submitted: Any
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.run_step_outputs_item import RunStepOutputsItem  # noqa: PLC0415

        attempts = self.attempts

        duration_ms: int | None
        duration_ms = self.duration_ms

        error = self.error

        error_code = self.error_code

        fingerprint = self.fingerprint

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        id = self.id

        kind = self.kind

        model = self.model

        outputs = []
        for outputs_item_data in self.outputs:
            outputs_item = outputs_item_data.to_dict()
            outputs.append(outputs_item)

        params = self.params

        progress = self.progress

        progress_message = self.progress_message

        queue = self.queue

        reused = self.reused

        seed: int | None
        seed = self.seed

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        status = self.status.value

        submitted = self.submitted

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attempts": attempts,
                "duration_ms": duration_ms,
                "error": error,
                "error_code": error_code,
                "fingerprint": fingerprint,
                "finished_at": finished_at,
                "id": id,
                "kind": kind,
                "model": model,
                "outputs": outputs,
                "params": params,
                "progress": progress,
                "progress_message": progress_message,
                "queue": queue,
                "reused": reused,
                "seed": seed,
                "started_at": started_at,
                "status": status,
                "submitted": submitted,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.run_step_outputs_item import RunStepOutputsItem  # noqa: PLC0415

        d = dict(src_dict)
        attempts = d.pop("attempts")

        def _parse_duration_ms(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        duration_ms = _parse_duration_ms(d.pop("duration_ms"))

        error = d.pop("error")

        error_code = d.pop("error_code")

        fingerprint = d.pop("fingerprint")

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

        id = d.pop("id")

        kind = d.pop("kind")

        model = d.pop("model")

        outputs = []
        _outputs = d.pop("outputs")
        for outputs_item_data in _outputs:
            outputs_item = RunStepOutputsItem.from_dict(outputs_item_data)

            outputs.append(outputs_item)

        params = d.pop("params")

        progress = d.pop("progress")

        progress_message = d.pop("progress_message")

        queue = d.pop("queue")

        reused = d.pop("reused")

        def _parse_seed(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        seed = _parse_seed(d.pop("seed"))

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

        status = RunStepStatusEnum(d.pop("status"))

        submitted = d.pop("submitted")

        run_step = cls(
            attempts=attempts,
            duration_ms=duration_ms,
            error=error,
            error_code=error_code,
            fingerprint=fingerprint,
            finished_at=finished_at,
            id=id,
            kind=kind,
            model=model,
            outputs=outputs,
            params=params,
            progress=progress,
            progress_message=progress_message,
            queue=queue,
            reused=reused,
            seed=seed,
            started_at=started_at,
            status=status,
            submitted=submitted,
        )

        run_step.additional_properties = d
        return run_step

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
