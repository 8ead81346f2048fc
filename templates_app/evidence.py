"""What the promotion gate asks of evidence (DESIGN §14). The evaluation itself lives a layer above
(runs_app.models.Evaluation: it has runs); templates_app only needs these few facts about it."""

from __future__ import annotations

from typing import Any, Protocol


class Evidence(Protocol):
    pk: Any
    candidate_id: Any
    baseline_id: Any

    @property
    def is_done(self) -> bool: ...
