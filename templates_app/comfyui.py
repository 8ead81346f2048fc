"""ComfyUI pools as the catalogue and the publish gate see them (DESIGN §8).

Pools come from settings (FLONIKS_COMFYUI_POOLS: pool → base URLs); each is the model family
`comfyui/<pool>`. The gate asks a pool's servers which node classes they have (`/object_info`), so
a graph using a class no server of its pool knows is refused at publish time; a pool that does not
answer only earns a warning. Answers are kept a short while: the form view validates as one types.

Only the configured base URLs are ever fetched, never a URL from a definition.

A server's environment fingerprint is fetched here too, by the one bounded fetch every caller uses
(the provider for each step, captures, drift pages, the gate's node classes): see
`fetch_fingerprint` and `live` below; runs_app.generators.comfyui_env compares fingerprints."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings

from core import jsonsafe

PROVIDER = "comfyui"
FAMILY_PREFIX = "comfyui/"
TIER = "self-hosted"
CLASSES_TTL = 30.0  # seconds an answer (or a failure) is reused
CLASSES_TIMEOUT = 3.0  # the gate waits at most this per server

_cache: dict[str, tuple[float, frozenset[str] | None, str]] = {}
_lock = threading.Lock()


def pools() -> dict[str, list[str]]:
    configured: dict[str, list[str]] = settings.FLONIKS_COMFYUI_POOLS
    return configured


def family_of(pool: str) -> str:
    return FAMILY_PREFIX + pool


def pool_of(family: str) -> str | None:
    """The pool of a `comfyui/<pool>` family, None for any other family."""
    return family.removeprefix(FAMILY_PREFIX) if family.startswith(FAMILY_PREFIX) else None


def node_classes(pool: str) -> tuple[frozenset[str] | None, str]:
    """The node classes a pool's first answering server has, and "" — or None and why none answered."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(pool)
        if hit is not None and now - hit[0] < CLASSES_TTL:
            return hit[1], hit[2]
    found: frozenset[str] | None = None
    why = f"pool '{pool}' is not configured (FLONIKS_COMFYUI_POOLS)"
    for base in pools().get(pool, []):
        try:
            with httpx.Client(timeout=CLASSES_TIMEOUT, follow_redirects=False) as client:
                fetch = _Fetcher(base, client, time.monotonic() + CLASSES_TIMEOUT * 2)
                info = fetch.get("/object_info", limit=MAX_OBJECT_INFO_BYTES)
        except EnvironmentUnreachable as exc:
            why = str(exc).rstrip(".")
            continue
        if isinstance(info, dict):
            found, why = frozenset(info), ""
            break
        why = f"{base} answered /object_info with something else than an object"
    with _lock:
        _cache[pool] = (now, found, why)
    return found, why


def forget(server: str | None = None) -> None:
    """Drop the kept node classes and fingerprints (tests; after a capture or a server's environment
    changed): every server's, or one server's fingerprint."""
    if server is None:
        with _lock:
            _cache.clear()
        _live.clear()
    else:
        _live.pop(server.rstrip("/"), None)


# --- environment fingerprints (DESIGN §8) ------------------------------------------------------
#
# A fingerprint is what the server itself reports, nothing inferred:
#   GET /system_stats → ComfyUI, Python and torch versions, and the devices (name and type; free
#     memory changes by the second and is left out);
#   GET /object_info → the node classes installed (custom nodes show up here);
#   GET /models and /models/<folder> → the model files by folder;
#   GET /view_metadata/<folder>?filename= → a `.safetensors` header's hash (`modelspec.hash_sha256`,
#     or kohya's `sshs_model_hash`), kept where the file carries one.
# Shape: comfyui_version, python_version, pytorch_version, devices [{name, type}], node_classes,
# models {folder: {file: hash or null}} — the same on a step, in a snapshot and on a drift page, so
# they compare. Every fetch is bounded: connect and read timeouts, a byte cap per answer, caps on
# folders, files and metadata lookups, and a deadline for the whole fingerprint.

MAX_ANSWER_BYTES = 1024 * 1024
MAX_OBJECT_INFO_BYTES = 64 * 1024 * 1024  # every node's schema: tens of MB on a server with many custom nodes
MAX_FOLDERS = 64
MAX_FILES_PER_FOLDER = 5000
MAX_METADATA_LOOKUPS = 512  # per fingerprint; files past it are listed without a hash
DEADLINE_SECONDS = 20.0
HASH_KEYS = ("modelspec.hash_sha256", "sshs_model_hash", "hash_sha256", "sha256")


class EnvironmentUnreachable(Exception):
    """No fingerprint: the server did not answer, or not as ComfyUI does. The message says which."""


def _timeout() -> httpx.Timeout:
    seconds = float(getattr(settings, "FLONIKS_COMFYUI_FINGERPRINT_TIMEOUT", 5.0))
    return httpx.Timeout(seconds, connect=min(seconds, 2.0))


class _Fetcher:
    def __init__(self, base_url: str, client: httpx.Client, deadline: float) -> None:
        self.base = base_url.rstrip("/")
        self.client = client
        self.deadline = deadline

    def get(self, path: str, *, limit: int = MAX_ANSWER_BYTES, missing_ok: bool = False) -> Any:
        if time.monotonic() > self.deadline:
            raise EnvironmentUnreachable(f"{self.base} took too long to describe itself.")
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
    """The fingerprint one server reports now (uncached; pages and steps go through `live`).
    Raises EnvironmentUnreachable."""
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
            return value[:140]  # as the header has it
    return None


# --- a short memory, for pages and steps ---------------------------------------------------------


@dataclass(frozen=True)
class Live:
    """A server's fingerprint as last fetched, or why there is none."""

    server: str
    fingerprint: dict[str, Any] | None
    error: str = ""


_live: dict[str, tuple[float, Live]] = {}
_live_locks: dict[str, threading.Lock] = {}


def _ttl() -> float:
    return float(getattr(settings, "FLONIKS_COMFYUI_FINGERPRINT_TTL", 30))


def live(server: str) -> Live:
    """The server's fingerprint, fetched at most once per FLONIKS_COMFYUI_FINGERPRINT_TTL per process
    (failures too: an unreachable server is said, never waited on at every view or step)."""
    server = server.rstrip("/")
    held = _live.get(server)
    if held and time.monotonic() - held[0] < _ttl():
        return held[1]
    with _lock:
        lock = _live_locks.setdefault(server, threading.Lock())
    with lock:  # one fetch per server at a time; the others wait and take its answer
        held = _live.get(server)
        if held and time.monotonic() - held[0] < _ttl():
            return held[1]
        try:
            found = Live(server, fetch_fingerprint(server))
        except EnvironmentUnreachable as exc:
            found = Live(server, None, str(exc))
        _live[server] = (time.monotonic(), found)
        return found
