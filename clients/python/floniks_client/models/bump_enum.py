from enum import StrEnum


class BumpEnum(StrEnum):
    INITIAL = "initial"
    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"

    def __str__(self) -> str:
        return str(self.value)
