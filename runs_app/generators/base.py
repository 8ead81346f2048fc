"""The provider interface every generator implements (DESIGN §8).

A provider turns one step into one file. The engine calls, on a worker:

- `generate(request, progress)` → GeneratedFile. Call `progress(fraction, message)` as the work
  advances (0..1; the engine stores it at a bounded rate and shows it live). Check
  `request.handle.cancelled` at every convenient point (between frames, bands, polls) and raise
  `StepCancelled` when it is set: that is how a cancel, a step timeout or a spent budget stops a step.
- `cancel(handle)` — called from another thread while `generate` runs, when the step must stop:
  tell the generator (ComfyUI's interrupt, a hosted API's cancel). The handle is already marked
  cancelled when this is called; a provider with nothing remote to tell may do nothing more.
- `fingerprint(family, snapshot)` → a JSON-able dict describing the environment that generates
  (package versions, server versions, model files): stored on the step, compared for drift.
- `takes_seed` — whether the same seed gives the same output; a provider that cannot take one can at
  best reproduce `near`.
- `runs_ahead` (optional, false if absent) — whether a step may start generating on this worker before
  it is claimed, while its claim (or the success of the step before it, which claims it) is still
  being written: for generators that are local and free (the built-in ones). A step started ahead
  whose claim then fails is stopped through its handle and its output dropped; nothing external must
  have happened because of it.

Errors: raise `TransientGeneratorError` for what a retry may cure (a timeout, a 5xx, a dropped
connection; retried per the step's policy with back-off), `GeneratorError` for everything else
(bad input, a refusal; never retried)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from PIL import Image


class GeneratorError(Exception):
    """A step cannot be generated: bad input or a model refusal. Not retried."""


class TransientGeneratorError(GeneratorError):
    """A provider hiccup (timeout, 5xx): worth retrying the step."""


class StepCancelled(Exception):
    """Raised by a provider that noticed `request.handle.cancelled`: the step stops here."""


class StepHandle:
    """One attempt of one step in flight: what `cancel` is given, and what `generate` watches."""

    def __init__(self, key: str) -> None:
        self.key = key  # unique per run, step and attempt: usable as a remote job id
        self._cancelled = threading.Event()
        self.reason = ""

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def mark_cancelled(self, reason: str) -> None:
        if not self._cancelled.is_set():
            self.reason = reason
            self._cancelled.set()

    def wait_cancelled(self, seconds: float) -> bool:
        """Sleep up to `seconds` (a retry's back-off); True as soon as the step is cancelled."""
        return self._cancelled.wait(seconds)

    def raise_if_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise StepCancelled(self.reason)


Progress = Callable[[float, str], None]  # fraction 0..1, an optional message ("frame 3 of 12")


def no_progress(fraction: float, message: str = "") -> None:
    """For callers that do not follow progress (benchmarks, one-off generation)."""


@dataclass(frozen=True)
class StepRequest:
    kind: str
    family: str
    snapshot: str
    seed: int | None
    params: dict[str, Any]
    images: dict[str, bytes] = field(default_factory=dict)  # param name → encoded input image
    provenance: dict[str, Any] = field(default_factory=dict)  # embedded in the output where the format allows
    handle: StepHandle = field(default_factory=lambda: StepHandle("standalone"))
    # A reproduction verifying a record: a provider that caches results (ComfyUI) must really generate.
    verifying: bool = False


@dataclass(frozen=True)
class GeneratedFile:
    data: bytes
    media_type: str
    extension: str
    width: int
    height: int
    frames: int = 1
    submitted: dict[str, Any] | None = None  # what was sent to an external provider, recorded on the step
    # The first frame as pixels, when the provider still holds them: its thumbnail is made from them
    # instead of decoding `data` again (decoding is most of a thumbnail's cost). Never stored.
    picture: Image.Image | None = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        # Handed to another process (runs_app.handover) without its pixels: copying them there costs
        # the generating process more than decoding `data` again costs the process that receives it.
        return {**self.__dict__, "picture": None}


class Provider(Protocol):
    takes_seed: bool

    def generate(self, request: StepRequest, progress: Progress) -> GeneratedFile: ...

    def cancel(self, handle: StepHandle) -> None: ...

    def fingerprint(self, family: str, snapshot: str) -> dict[str, Any]: ...


@functools.cache
def _load(path: str) -> Provider:
    return import_string(path)()


def get_provider(name: str) -> Provider:
    providers: dict[str, str] = settings.FLONIKS_PROVIDERS
    if name not in providers:
        raise GeneratorError(f"No provider '{name}' is configured (known: {', '.join(sorted(providers))}).")
    return _load(providers[name])
