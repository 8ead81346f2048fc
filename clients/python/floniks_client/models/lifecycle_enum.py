from enum import StrEnum


class LifecycleEnum(StrEnum):
    ARCHIVED = "archived"
    EXPLORING = "exploring"
    PRODUCTION = "production"

    def __str__(self) -> str:
        return str(self.value)
