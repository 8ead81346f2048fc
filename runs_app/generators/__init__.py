"""Generation providers. A step's model family names its provider; providers
are looked up in settings.FLONIKS_PROVIDERS, so further ones (a ComfyUI
server, a hosted image API) plug in without touching the engine."""

from runs_app.generators.base import (
    GeneratedFile,
    GeneratorError,
    Progress,
    Provider,
    StepCancelled,
    StepHandle,
    StepRequest,
    TransientGeneratorError,
    get_provider,
    no_progress,
)

__all__ = [
    "GeneratedFile",
    "GeneratorError",
    "Progress",
    "Provider",
    "StepCancelled",
    "StepHandle",
    "StepRequest",
    "TransientGeneratorError",
    "get_provider",
    "no_progress",
]
