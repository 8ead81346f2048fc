from enum import StrEnum


class PointerEnum(StrEnum):
    CANONICAL = "canonical"
    CHANNEL = "channel"
    DEFAULT_SNAPSHOT = "default_snapshot"
    LIFECYCLE = "lifecycle"
    MODE = "mode"
    PRODUCTION_PIN = "production_pin"
    SNAPSHOT_STATUS = "snapshot_status"
    VISIBILITY = "visibility"

    def __str__(self) -> str:
        return str(self.value)
