"""The provider interface every generator implements."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class GeneratorError(Exception):
    """A step cannot be generated: bad input or a model refusal. Not retried."""


class TransientGeneratorError(GeneratorError):
    """A provider hiccup (timeout, 5xx): worth retrying the step."""


@dataclass(frozen=True)
class StepRequest:
    kind: str
    family: str
    snapshot: str
    seed: int | None
    params: dict[str, Any]
    images: dict[str, bytes] = field(default_factory=dict)  # param name → encoded input image
    provenance: dict[str, Any] = field(default_factory=dict)  # embedded in the output where the format allows


@dataclass(frozen=True)
class GeneratedFile:
    data: bytes
    media_type: str
    extension: str
    width: int
    height: int
    frames: int = 1


class Provider(Protocol):
    def generate(self, request: StepRequest) -> GeneratedFile: ...


@functools.cache
def _load(path: str) -> Provider:
    return import_string(path)()


def get_provider(name: str) -> Provider:
    providers: dict[str, str] = settings.FLONIKS_PROVIDERS
    if name not in providers:
        raise GeneratorError(f"No provider '{name}' is configured (known: {', '.join(sorted(providers))}).")
    return _load(providers[name])
