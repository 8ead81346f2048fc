"""The outputs one execution of a run hands from step to step (issue 11).

Each output is kept in memory only while a later step still reads it: the engine
used to keep every output of a run until the run ended, so a long chain of large
images held them all at once."""

from __future__ import annotations

from typing import Any


class StepOutputs(dict[str, bytes]):
    """step id → encoded output, for the later steps that read it; dropped after its last reader."""

    def __init__(self, specification: dict[str, Any]) -> None:
        super().__init__()
        self.last_reader: dict[str, int] = {}  # step id → index of the last step whose parameters read it
        for index, step in enumerate(specification.get("steps") or []):
            for value in (step.get("params") or {}).values():
                if isinstance(value, dict) and isinstance(value.get("step"), str):
                    self.last_reader[value["step"]] = index

    def __setitem__(self, step_id: str, data: bytes) -> None:
        if step_id in self.last_reader:  # nobody reads it later: storage has it, memory need not
            super().__setitem__(step_id, data)

    def step_done(self, index: int) -> None:
        """Step `index` has finished: let go of every output no step after it reads."""
        for step_id in [s for s in self if self.last_reader[s] <= index]:
            del self[step_id]
