from enum import StrEnum


class VerdictEnum(StrEnum):
    DIFFERENT = "different"
    EXACT = "exact"
    FAILED = "failed"
    LEGACY_REQUIRED = "legacy_required"
    NEAR = "near"
    PENDING = "pending"

    def __str__(self) -> str:
        return str(self.value)
