"""Typed readers for environment variables.

Every helper raises ImproperlyConfigured on a value it cannot parse, so a typo
in a deployment stops the process at start-up instead of silently falling back
to a default.
"""

from __future__ import annotations

import json
import os
import re
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} is required but not set.")
        return default
    return value


def env_secret(name: str, default: str | None = None) -> str:
    """A secret from `NAME_FILE` (a path, as Docker and Kubernetes secrets mount them) or else from `NAME`.

    Setting both is refused: which one wins would be a guess. The file's surrounding whitespace
    (the newline an editor adds) is dropped; a file that is unreadable or holds nothing stops start-up.
    """
    file_name = f"{name}_FILE"
    path = os.environ.get(file_name)
    if path is None:
        return env_str(name, default)
    if os.environ.get(name):
        raise ImproperlyConfigured(f"Set either {name} or {file_name}, not both.")
    if not path.strip():
        raise ImproperlyConfigured(f"Environment variable {file_name} is empty; give the path of a file.")
    try:
        with open(path, encoding="utf-8") as f:
            value = f.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ImproperlyConfigured(f"{file_name}={path!r} cannot be read: {error}.") from None
    if not value:
        raise ImproperlyConfigured(f"{file_name}={path!r} is empty.")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"Environment variable {name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off."
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"Environment variable {name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"Environment variable {name}={value} must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Comma-separated values. Set but blank (`NAME=`, as compose writes `${NAME:-}`) means an empty list."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    if not raw.strip():
        return []
    items = [item.strip() for item in raw.split(",")]
    if any(not item for item in items):
        raise ImproperlyConfigured(
            f"Environment variable {name}={raw!r} has an empty item; separate values with commas."
        )
    return items


def env_map(name: str, default: dict[str, str]) -> dict[str, str]:
    """`key=value` pairs, comma-separated (e.g. `builtin=floniks,comfyui=gpu`), over the defaults."""
    found = dict(default)
    for item in env_list(name, []):
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not key or not value:
            raise ImproperlyConfigured(f"Environment variable {name} item {item!r} must look like key=value.")
        found[key] = value
    return found


def env_url(name: str, default: str | None = None, *, schemes: set[str]) -> str:
    """A URL with one of `schemes`. URLs may carry a password, so `NAME_FILE` works too (see env_secret)."""
    value = env_secret(name, default)
    parsed = urlparse(value)
    if parsed.scheme not in schemes:
        raise ImproperlyConfigured(
            f"Environment variable {name} has scheme {parsed.scheme!r}; expected one of {sorted(schemes)}."
        )
    return value


def env_url_pools(name: str) -> dict[str, list[str]]:
    """JSON naming pools of servers, `{"studio": ["http://gpu-1:8188", "http://gpu-2:8188"]}`: pool
    names as model family names allow (lower case, digits, `_ . -`), each with at least one http(s)
    base URL. Unset or blank means no pools; `NAME_FILE` works too (a URL may carry a password)."""
    raw = env_secret(name, "")
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"Environment variable {name} is not JSON ({exc}).") from None
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f'Environment variable {name} must be a JSON object: {{"pool": ["http://…"]}}.')
    pools: dict[str, list[str]] = {}
    for pool, urls in value.items():
        if not re.fullmatch(r"[a-z0-9_][a-z0-9_.-]{0,60}", pool):
            raise ImproperlyConfigured(f"{name}: pool name {pool!r} must be lower case letters, digits, _ . or -.")
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not urls:
            raise ImproperlyConfigured(f"{name}: pool {pool!r} needs a list of base URLs.")
        for url in urls:
            parsed = urlparse(url) if isinstance(url, str) else None
            if parsed is None or parsed.scheme not in {"http", "https"} or not parsed.hostname:
                raise ImproperlyConfigured(f"{name}: pool {pool!r} has {url!r}, which is not an http(s) URL.")
        pools[pool] = [u.rstrip("/") for u in urls]
    return pools
