from enum import StrEnum


class ChannelEnum(StrEnum):
    ALTERNATE = "alternate"
    SHADOW = "shadow"
    STANDARD = "standard"

    def __str__(self) -> str:
        return str(self.value)
