from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.snapshot_impact import SnapshotImpact


T = TypeVar("T", bound="CatalogueChange")


@_attrs_define
class CatalogueChange:
    """A snapshot after a catalogue change, with what the change touched.

    Attributes:
        family (str):
        impact (None | SnapshotImpact):
        is_default (bool):
        provider (str):
        snapshot (str):
        status (str):
        tier (str):
        previous_default (None | str | Unset):
    """

    family: str
    impact: None | SnapshotImpact
    is_default: bool
    provider: str
    snapshot: str
    status: str
    tier: str
    previous_default: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.snapshot_impact import SnapshotImpact  # noqa: PLC0415

        family = self.family

        impact: dict[str, Any] | None
        if isinstance(self.impact, SnapshotImpact):
            impact = self.impact.to_dict()
        else:
            impact = self.impact

        is_default = self.is_default

        provider = self.provider

        snapshot = self.snapshot

        status = self.status

        tier = self.tier

        previous_default: None | str | Unset
        if isinstance(self.previous_default, Unset):
            previous_default = UNSET
        else:
            previous_default = self.previous_default

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "family": family,
                "impact": impact,
                "is_default": is_default,
                "provider": provider,
                "snapshot": snapshot,
                "status": status,
                "tier": tier,
            }
        )
        if previous_default is not UNSET:
            field_dict["previous_default"] = previous_default

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.snapshot_impact import SnapshotImpact  # noqa: PLC0415

        d = dict(src_dict)
        family = d.pop("family")

        def _parse_impact(data: object) -> None | SnapshotImpact:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                impact_type_1 = SnapshotImpact.from_dict(data)

                return impact_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SnapshotImpact, data)

        impact = _parse_impact(d.pop("impact"))

        is_default = d.pop("is_default")

        provider = d.pop("provider")

        snapshot = d.pop("snapshot")

        status = d.pop("status")

        tier = d.pop("tier")

        def _parse_previous_default(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        previous_default = _parse_previous_default(d.pop("previous_default", UNSET))

        catalogue_change = cls(
            family=family,
            impact=impact,
            is_default=is_default,
            provider=provider,
            snapshot=snapshot,
            status=status,
            tier=tier,
            previous_default=previous_default,
        )

        catalogue_change.additional_properties = d
        return catalogue_change

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
