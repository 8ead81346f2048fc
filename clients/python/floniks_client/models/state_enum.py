from enum import StrEnum


class StateEnum(StrEnum):
    INVALID = "invalid"
    NONE = "none"
    TRUSTED = "trusted"
    VALID = "valid"

    def __str__(self) -> str:
        return str(self.value)
