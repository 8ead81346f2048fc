from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.pointer_enum import PointerEnum
from ..types import UNSET, Unset

T = TypeVar("T", bound="PointerMove")


@_attrs_define
class PointerMove:
    """
    Attributes:
        actor (None | str):
        at (datetime.datetime):
        evidence (None | UUID): The evaluation this promotion was made with.
        evidence_waived (bool): An admin promoted without evidence.
        from_value (str):
        id (int):
        pointer (PointerEnum): * `canonical` - canonical
            * `channel` - channel
            * `visibility` - visibility
            * `lifecycle` - lifecycle
            * `mode` - mode
            * `production_pin` - production pin
            * `default_snapshot` - default snapshot
            * `snapshot_status` - snapshot status
        reason (str):
        to (str):
        version (None | str):
    """

    actor: None | str
    at: datetime.datetime
    evidence: None | UUID
    evidence_waived: bool
    from_value: str
    id: int
    pointer: PointerEnum
    reason: str
    to: str
    version: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        actor: None | str
        actor = self.actor

        at = self.at.isoformat()

        evidence: None | str
        if isinstance(self.evidence, UUID):
            evidence = str(self.evidence)
        else:
            evidence = self.evidence

        evidence_waived = self.evidence_waived

        from_value = self.from_value

        id = self.id

        pointer = self.pointer.value

        reason = self.reason

        to = self.to

        version: None | str
        version = self.version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "actor": actor,
                "at": at,
                "evidence": evidence,
                "evidence_waived": evidence_waived,
                "from_value": from_value,
                "id": id,
                "pointer": pointer,
                "reason": reason,
                "to": to,
                "version": version,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_actor(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        actor = _parse_actor(d.pop("actor"))

        at = datetime.datetime.fromisoformat(d.pop("at"))

        def _parse_evidence(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                evidence_type_0 = UUID(data)

                return evidence_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        evidence = _parse_evidence(d.pop("evidence"))

        evidence_waived = d.pop("evidence_waived")

        from_value = d.pop("from_value")

        id = d.pop("id")

        pointer = PointerEnum(d.pop("pointer"))

        reason = d.pop("reason")

        to = d.pop("to")

        def _parse_version(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        version = _parse_version(d.pop("version"))

        pointer_move = cls(
            actor=actor,
            at=at,
            evidence=evidence,
            evidence_waived=evidence_waived,
            from_value=from_value,
            id=id,
            pointer=pointer,
            reason=reason,
            to=to,
            version=version,
        )

        pointer_move.additional_properties = d
        return pointer_move

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
