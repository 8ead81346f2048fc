from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.mode_enum import ModeEnum
from ..types import UNSET, Unset

T = TypeVar("T", bound="RunStartRequest")


@_attrs_define
class RunStartRequest:
    """
    Attributes:
        workflow (str):
        accept_model_drift (bool | Unset): Run in production even though the pinned environment changed (409
            model_drift). Default: False.
        inputs (Any | Unset):
        mode (ModeEnum | Unset): * `discovery` - Discovery
            * `production` - Production
        version (str | Unset):
    """

    workflow: str
    accept_model_drift: bool | Unset = False
    inputs: Any | Unset = UNSET
    mode: ModeEnum | Unset = UNSET
    version: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        workflow = self.workflow

        accept_model_drift = self.accept_model_drift

        inputs = self.inputs

        mode: str | Unset = UNSET
        if not isinstance(self.mode, Unset):
            mode = self.mode.value

        version = self.version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "workflow": workflow,
            }
        )
        if accept_model_drift is not UNSET:
            field_dict["accept_model_drift"] = accept_model_drift
        if inputs is not UNSET:
            field_dict["inputs"] = inputs
        if mode is not UNSET:
            field_dict["mode"] = mode
        if version is not UNSET:
            field_dict["version"] = version

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        workflow = d.pop("workflow")

        accept_model_drift = d.pop("accept_model_drift", UNSET)

        inputs = d.pop("inputs", UNSET)

        _mode = d.pop("mode", UNSET)
        mode: ModeEnum | Unset
        if isinstance(_mode, Unset):
            mode = UNSET
        else:
            mode = ModeEnum(_mode)

        version = d.pop("version", UNSET)

        run_start_request = cls(
            workflow=workflow,
            accept_model_drift=accept_model_drift,
            inputs=inputs,
            mode=mode,
            version=version,
        )

        run_start_request.additional_properties = d
        return run_start_request

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
