from enum import StrEnum


class VersionBumpEnum(StrEnum):
    INITIAL = "initial"
    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"

    def __str__(self) -> str:
        return str(self.value)
