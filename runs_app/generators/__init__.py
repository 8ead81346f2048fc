"""Generation providers. A step's model family names its provider; providers
are looked up in settings.FLONIKS_PROVIDERS, so further ones (a ComfyUI
server, a hosted image API) plug in without touching the engine."""

from runs_app.generators.base import GeneratedFile, GeneratorError, Provider, StepRequest, get_provider

__all__ = ["GeneratedFile", "GeneratorError", "Provider", "StepRequest", "get_provider"]
