from enum import StrEnum


class ModelSnapshotStatusEnum(StrEnum):
    AVAILABLE = "available"
    RETIRED = "retired"

    def __str__(self) -> str:
        return str(self.value)
