"""The environment fingerprint of a ComfyUI server, and what changed since a snapshot's (DESIGN §8).

A fingerprint is what the server itself reports, nothing inferred:

- `GET /system_stats` → ComfyUI, Python and torch versions, and the devices (name and type; free
  memory changes by the second and is left out);
- `GET /object_info` → the node classes installed (custom nodes show up here);
- `GET /models` and `GET /models/<folder>` → the model files by folder;
- `GET /view_metadata/<folder>?filename=` → a `.safetensors` file's header metadata, whose hash
  (`modelspec.hash_sha256`, or kohya's `sshs_model_hash`) is kept where the file carries one.

The catalogue's `comfyui/<pool>` snapshots hold one (captured by an admin: runs_app.services.
capture_environment). Its shape is the one the provider records on each step (templates_app.comfyui.
server_fingerprint): `comfyui_version`, `python_version`, `pytorch_version`, `devices` [{name, type}],
`node_classes`, `models` {folder: {file: hash or null}}; `describe_changes` compares any two of
them. Drift is a server of the pool whose fingerprint today differs from a snapshot's, said in words.

Every fetch is bounded: connect and read timeouts, a byte cap per answer, caps on folders, files
and metadata lookups, and a deadline for the whole fingerprint. Pages ask through `live()`, which
keeps each server's answer (or its failure: an unreachable server is said, never a 500) for
FLONIKS_COMFYUI_FINGERPRINT_TTL seconds, so a page does not wait on a server at every view."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings

from core import jsonsafe
from templates_app import comfyui as pool_config

PROVIDER = pool_config.PROVIDER
MAX_ANSWER_BYTES = 1024 * 1024
MAX_OBJECT_INFO_BYTES = 64 * 1024 * 1024  # every node's schema: tens of MB on a server with many custom nodes
MAX_FOLDERS = 64
MAX_FILES_PER_FOLDER = 5000
MAX_METADATA_LOOKUPS = 512  # per fingerprint; files past it are listed without a hash
DEADLINE_SECONDS = 20.0
HASH_KEYS = ("modelspec.hash_sha256", "sshs_model_hash", "hash_sha256", "sha256")
LISTED = 6  # names shown per kind of change before "and N more"


class EnvironmentUnreachable(Exception):
    """No fingerprint: the server did not answer, or not as ComfyUI does. The message says which."""


# --- where the servers are ------------------------------------------------------------------


def pools() -> dict[str, list[str]]:
    """Pool → base URLs (FLONIKS_COMFYUI_POOLS, read by templates_app.comfyui), without trailing slashes."""
    return {str(pool): [str(u).rstrip("/") for u in urls] for pool, urls in pool_config.pools().items()}


def pool_of(family: str) -> str:
    """`comfyui/studio` → `studio` ("" for a family that is not a ComfyUI pool)."""
    return pool_config.pool_of(family) or ""


def servers_of(family: str) -> list[str]:
    return pools().get(pool_of(family), [])


def _timeout() -> httpx.Timeout:
    seconds = float(getattr(settings, "FLONIKS_COMFYUI_FINGERPRINT_TIMEOUT", 5.0))
    return httpx.Timeout(seconds, connect=min(seconds, 2.0))


# --- fetching --------------------------------------------------------------------------------


class _Fetcher:
    def __init__(self, base_url: str, client: httpx.Client, deadline: float) -> None:
        self.base = base_url.rstrip("/")
        self.client = client
        self.deadline = deadline

    def get(self, path: str, *, limit: int = MAX_ANSWER_BYTES, missing_ok: bool = False) -> Any:
        if time.monotonic() > self.deadline:
            raise EnvironmentUnreachable(f"{self.base} took longer than {DEADLINE_SECONDS:g} s to describe itself.")
        try:
            with self.client.stream("GET", self.base + path) as answer:
                if missing_ok and answer.status_code == 404:
                    return None
                if answer.status_code != 200:
                    raise EnvironmentUnreachable(f"{self.base}{path.split('?')[0]} answered {answer.status_code}.")
                body = bytearray()
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise EnvironmentUnreachable(
                            f"{self.base}{path.split('?')[0]} answered more than {limit:,} bytes."
                        )
        except httpx.HTTPError as exc:
            raise EnvironmentUnreachable(f"{self.base} did not answer ({_why(exc)}).") from None
        try:
            return jsonsafe.loads(bytes(body))
        except Exception:
            raise EnvironmentUnreachable(f"{self.base}{path.split('?')[0]} did not answer JSON.") from None


def _why(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or no route"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return type(exc).__name__


def fetch_fingerprint(base_url: str, *, client: httpx.Client | None = None) -> dict[str, Any]:
    """The fingerprint one server reports now. Raises EnvironmentUnreachable."""
    own = client is None
    client = client or httpx.Client(timeout=_timeout(), follow_redirects=False)
    try:
        fetch = _Fetcher(base_url, client, time.monotonic() + DEADLINE_SECONDS)
        stats = fetch.get("/system_stats")
        nodes = fetch.get("/object_info", limit=MAX_OBJECT_INFO_BYTES)
        if not isinstance(stats, dict) or not isinstance(nodes, dict):
            raise EnvironmentUnreachable(f"{fetch.base} does not answer as a ComfyUI server does.")
        return {
            **_system(stats),
            "node_classes": sorted(str(n) for n in nodes)[:20000],
            "models": _models(fetch),
        }
    finally:
        if own:
            client.close()


def _system(stats: dict[str, Any]) -> dict[str, Any]:
    found = stats.get("system")
    system: dict[str, Any] = found if isinstance(found, dict) else {}
    devices = [
        {"name": str(d.get("name", ""))[:200], "type": str(d.get("type", ""))[:40]}
        for d in stats.get("devices") or []
        if isinstance(d, dict)
    ]
    return {
        "comfyui_version": str(system.get("comfyui_version") or "")[:40],
        "python_version": str(system.get("python_version") or "").split(" ")[0][:40],
        "pytorch_version": str(system.get("pytorch_version") or "")[:60],
        "devices": devices[:32],
    }


def _models(fetch: _Fetcher) -> dict[str, dict[str, str | None]]:
    folders = fetch.get("/models")
    if not isinstance(folders, list):
        raise EnvironmentUnreachable(f"{fetch.base}/models did not list model folders.")
    lookups = MAX_METADATA_LOOKUPS
    found: dict[str, dict[str, str | None]] = {}
    for folder in sorted(str(f) for f in folders)[:MAX_FOLDERS]:
        files = fetch.get(f"/models/{quote(folder, safe='')}", missing_ok=True)
        if not isinstance(files, list):
            continue
        entries: dict[str, str | None] = {}
        for name in sorted(str(f) for f in files)[:MAX_FILES_PER_FOLDER]:
            digest = None
            if name.endswith(".safetensors") and lookups > 0:
                lookups -= 1
                path = f"/view_metadata/{quote(folder, safe='')}?filename={quote(name, safe='')}"
                digest = _hash_in(fetch.get(path, missing_ok=True))
            entries[name] = digest
        found[folder] = entries
    return found


def _hash_in(metadata: Any) -> str | None:
    if not isinstance(metadata, dict):
        return None
    for key in HASH_KEYS:
        value = metadata.get(key)
        if isinstance(value, str) and value:
            return value[:140]  # as the header has it (the provider's step fingerprints keep it so too)
    return None


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


# --- a short memory, for pages ---------------------------------------------------------------


@dataclass(frozen=True)
class Live:
    """A server's fingerprint as last fetched, or why there is none."""

    server: str
    fingerprint: dict[str, Any] | None
    error: str = ""


_cache: dict[str, tuple[float, Live]] = {}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _ttl() -> float:
    return float(getattr(settings, "FLONIKS_COMFYUI_FINGERPRINT_TTL", 30))


def live(server: str) -> Live:
    """The server's fingerprint, fetched at most once per TTL per process (failures too)."""
    now = time.monotonic()
    held = _cache.get(server)
    if held and now - held[0] < _ttl():
        return held[1]
    with _guard:
        lock = _locks.setdefault(server, threading.Lock())
    with lock:  # one fetch per server at a time; the others wait and take its answer
        held = _cache.get(server)
        if held and time.monotonic() - held[0] < _ttl():
            return held[1]
        try:
            found = Live(server, fetch_fingerprint(server))
        except EnvironmentUnreachable as exc:
            found = Live(server, None, str(exc))
        _cache[server] = (time.monotonic(), found)
        return found


def forget(server: str | None = None) -> None:
    """Drop what `live` remembers (after a capture, or in tests after changing a server)."""
    if server is None:
        _cache.clear()
    else:
        _cache.pop(server.rstrip("/"), None)


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
        parts = []
        if gone := sorted(old_devices - new_devices):
            parts.append(f"{_listed(gone)} removed")
        if new := sorted(new_devices - old_devices):
            parts.append(f"{_listed(new)} added")
        changes.append("devices: " + "; ".join(parts))
    old_nodes, new_nodes = set(before.get("node_classes") or []), set(after.get("node_classes") or [])
    if old_nodes != new_nodes:
        parts = []
        if new := sorted(new_nodes - old_nodes):
            parts.append(f"{_listed(new)} added")
        if gone := sorted(old_nodes - new_nodes):
            parts.append(f"{_listed(gone)} removed")
        changes.append("node classes: " + "; ".join(parts))
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
