from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.problem import Problem


T = TypeVar("T", bound="ValidationResult")


@_attrs_define
class ValidationResult:
    """
    Attributes:
        bump (None | str):
        bump_reasons (list[str]):
        errors (list[Problem]):
        manifest_hash (None | str):
        valid (bool):
        warnings (list[Problem]): Worth knowing, never a refusal: e.g. an unseeded model, a pool not answering.
    """

    bump: None | str
    bump_reasons: list[str]
    errors: list[Problem]
    manifest_hash: None | str
    valid: bool
    warnings: list[Problem]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.problem import Problem  # noqa: PLC0415

        bump: None | str
        bump = self.bump

        bump_reasons = self.bump_reasons

        errors = []
        for errors_item_data in self.errors:
            errors_item = errors_item_data.to_dict()
            errors.append(errors_item)

        manifest_hash: None | str
        manifest_hash = self.manifest_hash

        valid = self.valid

        warnings = []
        for warnings_item_data in self.warnings:
            warnings_item = warnings_item_data.to_dict()
            warnings.append(warnings_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bump": bump,
                "bump_reasons": bump_reasons,
                "errors": errors,
                "manifest_hash": manifest_hash,
                "valid": valid,
                "warnings": warnings,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.problem import Problem  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_bump(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        bump = _parse_bump(d.pop("bump"))

        bump_reasons = cast(list[str], d.pop("bump_reasons"))

        errors = []
        _errors = d.pop("errors")
        for errors_item_data in _errors:
            errors_item = Problem.from_dict(errors_item_data)

            errors.append(errors_item)

        def _parse_manifest_hash(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        manifest_hash = _parse_manifest_hash(d.pop("manifest_hash"))

        valid = d.pop("valid")

        warnings = []
        _warnings = d.pop("warnings")
        for warnings_item_data in _warnings:
            warnings_item = Problem.from_dict(warnings_item_data)

            warnings.append(warnings_item)

        validation_result = cls(
            bump=bump,
            bump_reasons=bump_reasons,
            errors=errors,
            manifest_hash=manifest_hash,
            valid=valid,
            warnings=warnings,
        )

        validation_result.additional_properties = d
        return validation_result

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
