from enum import StrEnum


class ModeEnum(StrEnum):
    DISCOVERY = "discovery"
    PRODUCTION = "production"

    def __str__(self) -> str:
        return str(self.value)
