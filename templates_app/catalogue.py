"""A read-only, in-memory view of the model catalogue for one operation.

The catalogue is small (a handful of families), so the gate, the bump
classifier and the run resolver load it once with two queries rather than
asking the database per step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from templates_app.definition import split_model
from templates_app.models import ModelFamily, ModelSnapshot, SnapshotStatus

DISPLAY_TTL = 5.0
_display_cache: list[Any] = []


@dataclass(frozen=True)
class FamilyInfo:
    name: str
    tier: str
    provider: str
    default: str | None
    snapshots: dict[str, str] = field(default_factory=dict)  # snapshot → status
    seeded: bool = True  # whether the same seed gives the same output (else reproduction is at best near)
    queue: str = ""
    unavailable: str = ""  # why no run can use it now (a hosted provider without its key); "" when it can


@dataclass(frozen=True)
class ProviderFacts:
    seeded: bool
    unavailable: str


UNSEEDED_WARNING = "{family} takes no seed: the same inputs give a new image each time, so reproducing a record of it can at best be near."


def queue_for(provider: str, family: str = "") -> str:
    """The queue a step of `family` (served by `provider`) is sent to. A ComfyUI pool has a queue of its
    own, `comfyui.<pool>`, so a worker beside each pool serves it, unless settings name another."""
    queues: dict[str, str] = settings.FLONIKS_PROVIDER_QUEUES
    if provider == "comfyui" and family.startswith("comfyui/"):
        return queues.get(family, queues.get(provider, f"comfyui.{family.removeprefix('comfyui/')}"))
    return queues.get(provider, settings.FLONIKS_DEFAULT_QUEUE)


def provider_facts(provider: str) -> ProviderFacts:
    """What the catalogue says of a provider: read from the class settings.FLONIKS_PROVIDERS names
    (its `takes_seed`, and `unavailable()` when it has one: a hosted API without its key). Providers are
    plugins chosen by settings, as Django's backends are, so this reads them by their configured path."""
    paths: dict[str, str] = settings.FLONIKS_PROVIDERS
    if provider not in paths:
        return ProviderFacts(True, f"No provider '{provider}' is configured on this server.")
    try:
        cls = import_string(paths[provider])
    except ImportError as error:  # a misconfigured plugin makes its families unavailable, not every page fail
        return ProviderFacts(True, f"The provider '{provider}' cannot be loaded ({error}).")
    check = getattr(cls, "unavailable", None)
    return ProviderFacts(bool(getattr(cls, "takes_seed", True)), check() if callable(check) else "")


@dataclass(frozen=True)
class Resolution:
    family: str
    snapshot: str | None  # None: nothing available to resolve to
    pinned: bool

    @property
    def ref(self) -> str:
        return f"{self.family}@{self.snapshot}" if self.snapshot else self.family


class Catalogue:
    def __init__(self, families: dict[str, FamilyInfo]) -> None:
        self.families = families
        self._fingerprints: dict[tuple[str, str], dict[str, Any] | None] = {}

    @classmethod
    def cached(cls) -> Catalogue:
        """A snapshot at most DISPLAY_TTL seconds old, for display only (drift warnings on pages).

        Decisions — the publish gate, starting a run, reproducing — always call load()."""
        now = time.monotonic()
        if _display_cache and now - _display_cache[0] < DISPLAY_TTL:
            return _display_cache[1]
        fresh = cls.load()
        _display_cache[:] = [now, fresh]
        return fresh

    @staticmethod
    def forget() -> None:
        """Drop the display snapshot (after a catalogue change; other processes catch up within DISPLAY_TTL)."""
        _display_cache.clear()

    @classmethod
    def load(cls) -> Catalogue:
        snapshots: dict[int, dict[str, str]] = {}
        for family_id, snapshot, status in ModelSnapshot.objects.values_list("family_id", "snapshot", "status"):
            snapshots.setdefault(family_id, {})[snapshot] = status
        families = {}
        facts: dict[str, ProviderFacts] = {}
        for fam in ModelFamily.objects.select_related("default_snapshot"):
            default = fam.default_snapshot.snapshot if fam.default_snapshot else None
            found = facts.setdefault(fam.provider, provider_facts(fam.provider))
            families[fam.name] = FamilyInfo(
                fam.name,
                fam.tier,
                fam.provider,
                default,
                snapshots.get(fam.pk, {}),
                seeded=found.seeded,
                queue=queue_for(fam.provider, fam.name),
                unavailable=found.unavailable,
            )
        return cls(families)

    def tier_of(self, model_ref: str) -> str | None:
        info = self.families.get(split_model(model_ref)[0])
        return info.tier if info else None

    def resolve(self, model_ref: str) -> Resolution | None:
        """Resolve a step's model to a snapshot; None when the family or snapshot is unknown."""
        family, snapshot = split_model(model_ref)
        info = self.families.get(family)
        if info is None:
            return None
        if snapshot is not None:
            return Resolution(family, snapshot, pinned=True) if snapshot in info.snapshots else None
        return Resolution(family, info.default, pinned=False)

    def fingerprint(self, family: str, snapshot: str) -> dict[str, Any] | None:
        """The environment a snapshot of an external family holds (None where nothing was captured).
        Read on first use, once per snapshot and catalogue: a fingerprint lists every node class and
        model file of a server, too much to load with the catalogue for every gate check."""
        if snapshot not in (self.families[family].snapshots if family in self.families else {}):
            return None
        key = (family, snapshot)
        if key not in self._fingerprints:
            found = (
                ModelSnapshot.objects.filter(family__name=family, snapshot=snapshot)
                .values_list("fingerprint", flat=True)
                .first()
            )
            self._fingerprints[key] = found or None
        return self._fingerprints[key]

    def is_available(self, family: str, snapshot: str) -> bool:
        info = self.families.get(family)
        return bool(info and info.snapshots.get(snapshot) == SnapshotStatus.AVAILABLE)
