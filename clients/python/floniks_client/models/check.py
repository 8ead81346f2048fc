from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.verdict_enum import VerdictEnum
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.check_difference_images import CheckDifferenceImages


T = TypeVar("T", bound="Check")


@_attrs_define
class Check:
    """
    Attributes:
        completed_at (datetime.datetime | None):
        created_at (datetime.datetime):
        created_by (str):
        difference_images (CheckDifferenceImages):
        drift_accepted (bool):
        drift_warnings (Any):
        id (int):
        note (str):
        run_id (None | UUID):
        scores (Any):
        verdict (VerdictEnum): * `pending` - Reproducing
            * `exact` - Identical outputs
            * `near` - Nearly identical outputs
            * `different` - Outputs differ
            * `legacy_required` - Needs a legacy model
            * `failed` - Reproduction failed
    """

    completed_at: datetime.datetime | None
    created_at: datetime.datetime
    created_by: str
    difference_images: CheckDifferenceImages
    drift_accepted: bool
    drift_warnings: Any
    id: int
    note: str
    run_id: None | UUID
    scores: Any
    verdict: VerdictEnum
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.check_difference_images import CheckDifferenceImages  # noqa: PLC0415

        completed_at: None | str
        if isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        created_at = self.created_at.isoformat()

        created_by = self.created_by

        difference_images = self.difference_images.to_dict()

        drift_accepted = self.drift_accepted

        drift_warnings = self.drift_warnings

        id = self.id

        note = self.note

        run_id: None | str
        if isinstance(self.run_id, UUID):
            run_id = str(self.run_id)
        else:
            run_id = self.run_id

        scores = self.scores

        verdict = self.verdict.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "completed_at": completed_at,
                "created_at": created_at,
                "created_by": created_by,
                "difference_images": difference_images,
                "drift_accepted": drift_accepted,
                "drift_warnings": drift_warnings,
                "id": id,
                "note": note,
                "run_id": run_id,
                "scores": scores,
                "verdict": verdict,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.check_difference_images import CheckDifferenceImages  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_completed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        completed_at = _parse_completed_at(d.pop("completed_at"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        created_by = d.pop("created_by")

        difference_images = CheckDifferenceImages.from_dict(d.pop("difference_images"))

        drift_accepted = d.pop("drift_accepted")

        drift_warnings = d.pop("drift_warnings")

        id = d.pop("id")

        note = d.pop("note")

        def _parse_run_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                run_id_type_0 = UUID(data)

                return run_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        run_id = _parse_run_id(d.pop("run_id"))

        scores = d.pop("scores")

        verdict = VerdictEnum(d.pop("verdict"))

        check = cls(
            completed_at=completed_at,
            created_at=created_at,
            created_by=created_by,
            difference_images=difference_images,
            drift_accepted=drift_accepted,
            drift_warnings=drift_warnings,
            id=id,
            note=note,
            run_id=run_id,
            scores=scores,
            verdict=verdict,
        )

        check.additional_properties = d
        return check

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
