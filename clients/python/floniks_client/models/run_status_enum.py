from enum import StrEnum


class RunStatusEnum(StrEnum):
    AWAITING_ANNOTATION = "awaiting_annotation"
    AWAITING_GATE = "awaiting_gate"
    CANCELLED = "cancelled"
    DISCARDED = "discarded"
    FAILED = "failed"
    FINALIZED = "finalized"
    QUEUED = "queued"
    RECORDING = "recording"
    RUNNING = "running"

    def __str__(self) -> str:
        return str(self.value)
