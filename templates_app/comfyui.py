"""ComfyUI pools as the catalogue and the publish gate see them (DESIGN §8).

Pools come from settings (FLONIKS_COMFYUI_POOLS: pool → base URLs); each is the model family
`comfyui/<pool>`. The gate asks a pool's servers which node classes they have (`/object_info`), so
a graph using a class no server of its pool knows is refused at publish time; a pool that does not
answer only earns a warning. Answers are kept a short while: the form view validates as one types.

Only the configured base URLs are ever fetched, never a URL from a definition."""

from __future__ import annotations

import threading
import time

import httpx
from django.conf import settings

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
            answer = httpx.get(f"{base}/object_info", timeout=CLASSES_TIMEOUT, follow_redirects=False)
            answer.raise_for_status()
            info = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            why = f"{base} did not answer ({exc.__class__.__name__})"
            continue
        if isinstance(info, dict):
            found, why = frozenset(info), ""
            break
        why = f"{base} answered /object_info with something else than an object"
    with _lock:
        _cache[pool] = (now, found, why)
    return found, why


def forget() -> None:
    """Drop the kept answers and fingerprints (tests; after a server's environment changed)."""
    with _lock:
        _cache.clear()
        _fingerprints.clear()


# --- environment fingerprints (DESIGN §8) ------------------------------------------------------
HASH_KEYS = ("modelspec.hash_sha256", "sshs_model_hash", "hash_sha256")
MAX_HASHED_FILES = 64  # /view_metadata calls per fingerprint, at most
FINGERPRINT_TTL = 10.0  # seconds a server's fingerprint is reused (a step's fingerprint is taken per step)
_fingerprints: dict[str, tuple[float, dict[str, object]]] = {}


def server_fingerprint(base: str, *, http: httpx.Client | None = None, fresh: bool = False) -> dict[str, object]:
    """What a ComfyUI server reports of its environment: its ComfyUI, Python and torch versions and
    devices (`/system_stats`), its node classes (`/object_info`: custom nodes show up there) and its
    model files by folder (`/models`, `/models/<folder>`), with the hash a file's header carries where
    `/view_metadata` reports one. Raises httpx.HTTPError when the server does not answer."""
    now = time.monotonic()
    with _lock:
        hit = _fingerprints.get(base)
        if hit is not None and not fresh and now - hit[0] < FINGERPRINT_TTL:
            return hit[1]
    own = http is None
    client = http or httpx.Client(timeout=settings.FLONIKS_COMFYUI_HTTP_TIMEOUT_SECONDS, follow_redirects=False)
    try:
        stats = _json(client, f"{base}/system_stats")
        classes = _json(client, f"{base}/object_info")
        folders = _json(client, f"{base}/models")
        system = stats.get("system", {}) if isinstance(stats, dict) else {}
        devices = stats.get("devices", []) if isinstance(stats, dict) else []
        models: dict[str, dict[str, str | None]] = {}
        budget = MAX_HASHED_FILES
        for folder in folders if isinstance(folders, list) else []:
            if not isinstance(folder, str):
                continue
            answer = client.get(f"{base}/models/{folder}")
            if answer.status_code == 404:
                continue
            answer.raise_for_status()
            files = answer.json()
            models[folder] = {}
            for name in sorted(f for f in files if isinstance(f, str)) if isinstance(files, list) else []:
                digest = None
                if name.endswith(".safetensors") and budget > 0:
                    budget -= 1
                    digest = _file_hash(client, base, folder, name)
                models[folder][name] = digest
        found: dict[str, object] = {
            "comfyui_version": str(system.get("comfyui_version", "")),
            "python_version": str(system.get("python_version", "")).split(" ")[0],
            "pytorch_version": str(system.get("pytorch_version", "")),
            "devices": [
                {"name": str(d.get("name", "")), "type": str(d.get("type", ""))} for d in devices if isinstance(d, dict)
            ],
            "node_classes": sorted(classes) if isinstance(classes, dict) else [],
            "models": models,
        }
    finally:
        if own:
            client.close()
    with _lock:
        _fingerprints[base] = (now, found)
    return found


def _json(client: httpx.Client, url: str) -> object:
    answer = client.get(url)
    answer.raise_for_status()
    try:
        return answer.json()
    except ValueError:
        raise httpx.DecodingError(f"{url} did not answer JSON") from None


def _file_hash(client: httpx.Client, base: str, folder: str, name: str) -> str | None:
    answer = client.get(f"{base}/view_metadata/{folder}", params={"filename": name})
    if answer.status_code != 200:
        return None
    try:
        meta = answer.json()
    except ValueError:
        return None
    if not isinstance(meta, dict):
        return None
    for key in HASH_KEYS:
        if isinstance(meta.get(key), str) and meta[key]:
            return str(meta[key])
    return None
