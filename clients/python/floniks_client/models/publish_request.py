from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Generator, TextIO, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.channel_enum import ChannelEnum
from ..models.publish_bump_enum import PublishBumpEnum
from ..models.visibility_enum import VisibilityEnum
from ..types import UNSET, Unset

T = TypeVar("T", bound="PublishRequest")


@_attrs_define
class PublishRequest:
    """
    Attributes:
        visibility (VisibilityEnum): * `internal` - Internal
            * `public` - Public
        bump (PublishBumpEnum | Unset): * `patch` - patch
            * `minor` - minor
            * `major` - major
        channel (ChannelEnum | Unset): * `standard` - Standard
            * `alternate` - Alternate
            * `shadow` - Shadow Default: ChannelEnum.STANDARD.
        message (str | Unset): Why this version is published, in one line; kept with the version and never edited.
            Default: ''.
    """

    visibility: VisibilityEnum
    bump: PublishBumpEnum | Unset = UNSET
    channel: ChannelEnum | Unset = ChannelEnum.STANDARD
    message: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        visibility = self.visibility.value

        bump: str | Unset = UNSET
        if not isinstance(self.bump, Unset):
            bump = self.bump.value

        channel: str | Unset = UNSET
        if not isinstance(self.channel, Unset):
            channel = self.channel.value

        message = self.message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "visibility": visibility,
            }
        )
        if bump is not UNSET:
            field_dict["bump"] = bump
        if channel is not UNSET:
            field_dict["channel"] = channel
        if message is not UNSET:
            field_dict["message"] = message

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        visibility = VisibilityEnum(d.pop("visibility"))

        _bump = d.pop("bump", UNSET)
        bump: PublishBumpEnum | Unset
        if isinstance(_bump, Unset):
            bump = UNSET
        else:
            bump = PublishBumpEnum(_bump)

        _channel = d.pop("channel", UNSET)
        channel: ChannelEnum | Unset
        if isinstance(_channel, Unset):
            channel = UNSET
        else:
            channel = ChannelEnum(_channel)

        message = d.pop("message", UNSET)

        publish_request = cls(
            visibility=visibility,
            bump=bump,
            channel=channel,
            message=message,
        )

        publish_request.additional_properties = d
        return publish_request

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
