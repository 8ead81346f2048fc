"""The environment fingerprint of a ComfyUI server, and what changed since a snapshot's (DESIGN §8).

A fingerprint is what the server itself reports, nothing inferred:

- `GET /system_stats` → ComfyUI, Python and torch versions, and the devices (name and type; free
  memory changes by the second and is left out);
- `GET /object_info` → the node classes installed (custom nodes show up here);
- `GET /models` and `GET /models/<folder>` → the model files by folder;
- `GET /view_metadata/<folder>?filename=` → a `.safetensors` file's header metadata, whose hash
  (`modelspec.hash_sha256`, or kohya's `sshs_model_hash`) is kept where the file carries one.

The catalogue's `comfyui/<pool>` snapshots hold one (captured by an admin: runs_app.services.
capture_environment). Its shape is the one the provider records on each step — both are fetched by
the same code, templates_app.comfyui.fetch_fingerprint / live (here re-exported): `comfyui_version`, `python_version`, `pytorch_version`, `devices` [{name, type}],
`node_classes`, `models` {folder: {file: hash or null}}; `describe_changes` compares any two of
them. Drift is a server of the pool whose fingerprint today differs from a snapshot's, said in words.

Every fetch is bounded (templates_app.comfyui): connect and read timeouts, a byte cap per answer,
caps on folders, files and metadata lookups, and a deadline for the whole fingerprint. Pages and
the provider's steps ask through `live()`, which
keeps each server's answer (or its failure: an unreachable server is said, never a 500) for
FLONIKS_COMFYUI_FINGERPRINT_TTL seconds, so a page does not wait on a server at every view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from templates_app import comfyui as pool_config

PROVIDER = pool_config.PROVIDER
LISTED = 6  # names shown per kind of change before "and N more"

# The fetch and its memory live in templates_app (the gate needs them and may not import runs_app).
EnvironmentUnreachable = pool_config.EnvironmentUnreachable
Live = pool_config.Live
fetch_fingerprint = pool_config.fetch_fingerprint
live = pool_config.live
forget = pool_config.forget


# --- where the servers are ------------------------------------------------------------------


def pools() -> dict[str, list[str]]:
    """Pool → base URLs (FLONIKS_COMFYUI_POOLS, read by templates_app.comfyui), without trailing slashes."""
    return {str(pool): [str(u).rstrip("/") for u in urls] for pool, urls in pool_config.pools().items()}


def pool_of(family: str) -> str:
    """`comfyui/studio` → `studio` ("" for a family that is not a ComfyUI pool)."""
    return pool_config.pool_of(family) or ""


def servers_of(family: str) -> list[str]:
    return pools().get(pool_of(family), [])


def fingerprint_of_pool(family: str) -> dict[str, Any]:
    """The fingerprint of the first server of the family's pool that answers (what a capture keeps).
    Raises EnvironmentUnreachable, naming every server tried."""
    servers = servers_of(family)
    if not servers:
        raise EnvironmentUnreachable(
            f"No ComfyUI server is configured for {family}: FLONIKS_COMFYUI_POOLS names no pool '{pool_of(family)}'."
        )
    failures = []
    for url in servers:
        try:
            return fetch_fingerprint(url)
        except EnvironmentUnreachable as exc:
            failures.append(str(exc))
    raise EnvironmentUnreachable(" ".join(failures))


# --- comparing -------------------------------------------------------------------------------


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


def _devices(fingerprint: Mapping[str, Any]) -> set[str]:
    found = set()
    for device in fingerprint.get("devices") or []:
        if isinstance(device, dict):
            found.add(f"{device.get('name') or '?'} ({device.get('type') or '?'})")
        else:
            found.add(str(device))
    return found


def _hash_of(value: Any) -> str:
    return str(value).lower().removeprefix("0x") if value else ""


def _removed_added(old: set[str], new: set[str], *, removed_first: bool) -> str:
    """ "a, b removed; c added" (devices say what went first, node classes what came)."""
    parts = [f"{_listed(sorted(old - new))} removed", f"{_listed(sorted(new - old))} added"]
    kept = [p for p, names in zip(parts, (old - new, new - old), strict=True) if names]
    return "; ".join(kept if removed_first else kept[::-1])


def describe_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What changed from one fingerprint to another, a phrase per kind of change, e.g.
    ["ComfyUI 0.3.64 → 0.3.66", "checkpoints: sdxl_base.safetensors removed"]. Empty when the same.
    Only what a server reports is compared (not `server`, `provider`, … that a step's fingerprint adds)."""
    changes = []
    for key, label in (("comfyui_version", "ComfyUI"), ("python_version", "Python"), ("pytorch_version", "torch")):
        if (before.get(key) or "") != (after.get(key) or ""):
            changes.append(f"{label} {before.get(key) or 'unknown'} → {after.get(key) or 'unknown'}")
    old_devices, new_devices = _devices(before), _devices(after)
    if old_devices != new_devices:
        changes.append("devices: " + _removed_added(old_devices, new_devices, removed_first=True))
    old_nodes, new_nodes = set(before.get("node_classes") or []), set(after.get("node_classes") or [])
    if old_nodes != new_nodes:
        changes.append("node classes: " + _removed_added(old_nodes, new_nodes, removed_first=False))
    old_models: Mapping[str, Any] = before.get("models") or {}
    new_models: Mapping[str, Any] = after.get("models") or {}
    for folder in sorted(set(old_models) | set(new_models)):
        was, now = old_models.get(folder) or {}, new_models.get(folder) or {}
        parts = []
        if gone := sorted(set(was) - set(now)):
            parts.append(f"{_listed(gone)} removed")
        if new := sorted(set(now) - set(was)):
            parts.append(f"{_listed(new)} added")
        both = set(was) & set(now)
        if changed := sorted(
            n for n in both if _hash_of(was[n]) and _hash_of(now[n]) and _hash_of(was[n]) != _hash_of(now[n])
        ):
            parts.append(f"{_listed(changed)} changed (another hash)")
        if parts:
            changes.append(f"{folder}: " + ", ".join(parts))
    return changes


@dataclass(frozen=True)
class Drift:
    """How a pool's servers compare today with a snapshot's fingerprint."""

    changes: list[str]  # "on <server>: …" when the pool has several servers; empty when none changed
    unreachable: list[str]  # why a server could not be compared

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def text(self) -> str:
        return "; ".join(self.changes)


def drift(family: str, recorded: Mapping[str, Any]) -> Drift:
    """Every server of the family's pool against the recorded fingerprint (through `live`'s memory)."""
    servers = servers_of(family)
    changes: list[str] = []
    unreachable: list[str] = []
    for server in servers:
        now = live(server)
        if now.fingerprint is None:
            unreachable.append(now.error)
            continue
        found = describe_changes(recorded, now.fingerprint)
        if found:
            where = f"on {server}: " if len(servers) > 1 else ""
            changes.append(where + "; ".join(found))
    return Drift(changes, unreachable)
