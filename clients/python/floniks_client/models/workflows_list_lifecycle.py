from enum import StrEnum


class WorkflowsListLifecycle(StrEnum):
    ARCHIVED = "archived"
    EXPLORING = "exploring"
    PRODUCTION = "production"

    def __str__(self) -> str:
        return str(self.value)
