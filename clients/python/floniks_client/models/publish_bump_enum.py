from enum import StrEnum


class PublishBumpEnum(StrEnum):
    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"

    def __str__(self) -> str:
        return str(self.value)
