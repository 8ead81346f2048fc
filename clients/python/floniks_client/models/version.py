from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.bump_enum import BumpEnum
from ..models.channel_enum import ChannelEnum
from ..models.visibility_enum import VisibilityEnum
from ..types import UNSET, Unset

T = TypeVar("T", bound="Version")


@_attrs_define
class Version:
    """
    Attributes:
        bump (BumpEnum): * `initial` - Initial
            * `patch` - Patch
            * `minor` - Minor
            * `major` - Major
        channel (ChannelEnum): * `standard` - Standard
            * `alternate` - Alternate
            * `shadow` - Shadow
        definition (Any):
        is_canonical (bool):
        manifest_hash (str):
        message (str): Why it was published, in the publisher's words.
        published_at (datetime.datetime):
        published_by (str):
        version (str): YYYY.MM.DD of the publishing day (UTC), then .2, .3 …
        visibility (VisibilityEnum): * `internal` - Internal
            * `public` - Public
        workflow (str):
    """

    bump: BumpEnum
    channel: ChannelEnum
    definition: Any
    is_canonical: bool
    manifest_hash: str
    message: str
    published_at: datetime.datetime
    published_by: str
    version: str
    visibility: VisibilityEnum
    workflow: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bump = self.bump.value

        channel = self.channel.value

        definition = self.definition

        is_canonical = self.is_canonical

        manifest_hash = self.manifest_hash

        message = self.message

        published_at = self.published_at.isoformat()

        published_by = self.published_by

        version = self.version

        visibility = self.visibility.value

        workflow = self.workflow

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bump": bump,
                "channel": channel,
                "definition": definition,
                "is_canonical": is_canonical,
                "manifest_hash": manifest_hash,
                "message": message,
                "published_at": published_at,
                "published_by": published_by,
                "version": version,
                "visibility": visibility,
                "workflow": workflow,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        bump = BumpEnum(d.pop("bump"))

        channel = ChannelEnum(d.pop("channel"))

        definition = d.pop("definition")

        is_canonical = d.pop("is_canonical")

        manifest_hash = d.pop("manifest_hash")

        message = d.pop("message")

        published_at = datetime.datetime.fromisoformat(d.pop("published_at"))

        published_by = d.pop("published_by")

        version = d.pop("version")

        visibility = VisibilityEnum(d.pop("visibility"))

        workflow = d.pop("workflow")

        version = cls(
            bump=bump,
            channel=channel,
            definition=definition,
            is_canonical=is_canonical,
            manifest_hash=manifest_hash,
            message=message,
            published_at=published_at,
            published_by=published_by,
            version=version,
            visibility=visibility,
            workflow=workflow,
        )

        version.additional_properties = d
        return version

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
