"""Model drift warnings for a workflow's production pin (DESIGN §5)."""

from __future__ import annotations

from runs_app.models import ProductionPin
from runs_app.spec import drift_warnings_for
from templates_app.catalogue import Catalogue
from templates_app.models import Workflow


def workflow_drift(workflow: Workflow, catalogue: Catalogue | None = None) -> list[dict[str, str]]:
    """Steps whose pinned snapshot differs from what the canonical version resolves to today."""
    pin: ProductionPin | None = getattr(workflow, "production_pin", None)
    if pin is None or workflow.canonical_version is None:
        return []
    return drift_warnings_for(pin.step_models, workflow.canonical_version, catalogue or Catalogue.load())
