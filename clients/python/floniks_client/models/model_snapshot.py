from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.model_snapshot_status_enum import ModelSnapshotStatusEnum
from ..types import UNSET, Unset

T = TypeVar("T", bound="ModelSnapshot")


@_attrs_define
class ModelSnapshot:
    """
    Attributes:
        available (bool): Whether runs can use it on this server now (a hosted provider needs its key).
        family (str):
        is_default (bool):
        provider (str):
        queue (str): The queue its steps are sent to.
        seeded (bool): Whether the same seed gives the same output.
        snapshot (str): Release date (YYYY-MM-DD), a Replicate version id (64 hex) or a dated model name (gpt-
            image-1-2025-04-15).
        tier (str):
        unavailable_reason (str):
        fingerprint (Any | Unset):
        status (ModelSnapshotStatusEnum | Unset): * `available` - Available
            * `retired` - Retired
    """

    available: bool
    family: str
    is_default: bool
    provider: str
    queue: str
    seeded: bool
    snapshot: str
    tier: str
    unavailable_reason: str
    fingerprint: Any | Unset = UNSET
    status: ModelSnapshotStatusEnum | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        available = self.available

        family = self.family

        is_default = self.is_default

        provider = self.provider

        queue = self.queue

        seeded = self.seeded

        snapshot = self.snapshot

        tier = self.tier

        unavailable_reason = self.unavailable_reason

        fingerprint = self.fingerprint

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "available": available,
                "family": family,
                "is_default": is_default,
                "provider": provider,
                "queue": queue,
                "seeded": seeded,
                "snapshot": snapshot,
                "tier": tier,
                "unavailable_reason": unavailable_reason,
            }
        )
        if fingerprint is not UNSET:
            field_dict["fingerprint"] = fingerprint
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        available = d.pop("available")

        family = d.pop("family")

        is_default = d.pop("is_default")

        provider = d.pop("provider")

        queue = d.pop("queue")

        seeded = d.pop("seeded")

        snapshot = d.pop("snapshot")

        tier = d.pop("tier")

        unavailable_reason = d.pop("unavailable_reason")

        fingerprint = d.pop("fingerprint", UNSET)

        _status = d.pop("status", UNSET)
        status: ModelSnapshotStatusEnum | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = ModelSnapshotStatusEnum(_status)

        model_snapshot = cls(
            available=available,
            family=family,
            is_default=is_default,
            provider=provider,
            queue=queue,
            seeded=seeded,
            snapshot=snapshot,
            tier=tier,
            unavailable_reason=unavailable_reason,
            fingerprint=fingerprint,
            status=status,
        )

        model_snapshot.additional_properties = d
        return model_snapshot

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
