from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.state_enum import StateEnum
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.verification_record_type_0 import VerificationRecordType0


T = TypeVar("T", bound="Verification")


@_attrs_define
class Verification:
    """What a file's C2PA manifest says (DESIGN §13).

    Attributes:
        manifest_hash (None | str):
        record (None | VerificationRecordType0):
        signer (None | str):
        spec_hash (None | str):
        state (StateEnum): * `trusted` - trusted
            * `valid` - valid
            * `invalid` - invalid
            * `none` - none
    """

    manifest_hash: None | str
    record: None | VerificationRecordType0
    signer: None | str
    spec_hash: None | str
    state: StateEnum
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.verification_record_type_0 import VerificationRecordType0  # noqa: PLC0415

        manifest_hash: None | str
        manifest_hash = self.manifest_hash

        record: dict[str, Any] | None
        if isinstance(self.record, VerificationRecordType0):
            record = self.record.to_dict()
        else:
            record = self.record

        signer: None | str
        signer = self.signer

        spec_hash: None | str
        spec_hash = self.spec_hash

        state = self.state.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "manifest_hash": manifest_hash,
                "record": record,
                "signer": signer,
                "spec_hash": spec_hash,
                "state": state,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.verification_record_type_0 import VerificationRecordType0  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_manifest_hash(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        manifest_hash = _parse_manifest_hash(d.pop("manifest_hash"))

        def _parse_record(data: object) -> None | VerificationRecordType0:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                record_type_0 = VerificationRecordType0.from_dict(data)

                return record_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | VerificationRecordType0, data)

        record = _parse_record(d.pop("record"))

        def _parse_signer(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        signer = _parse_signer(d.pop("signer"))

        def _parse_spec_hash(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        spec_hash = _parse_spec_hash(d.pop("spec_hash"))

        state = StateEnum(d.pop("state"))

        verification = cls(
            manifest_hash=manifest_hash,
            record=record,
            signer=signer,
            spec_hash=spec_hash,
            state=state,
        )

        verification.additional_properties = d
        return verification

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
