"""Where `floniks login` keeps the server address and token: the user's config directory, readable by
the user alone (the token is as good as their password)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Credentials:
    url: str
    token: str


def config_path() -> Path:
    if explicit := os.environ.get("FLONIKS_CONFIG"):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "floniks" / "config.json"


def save(credentials: Credentials) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created with 0600 from the start (not chmod after writing): never readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"url": credentials.url, "token": credentials.token}, f)
    os.chmod(path, 0o600)  # an older file keeps its mode through O_TRUNC
    return path


def load() -> Credentials | None:
    """FLONIKS_URL and FLONIKS_TOKEN win over the stored login (for CI jobs)."""
    stored: dict[str, str] = {}
    path = config_path()
    if path.exists():
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError):
            stored = {}
    url = os.environ.get("FLONIKS_URL") or stored.get("url")
    token = os.environ.get("FLONIKS_TOKEN") or stored.get("token")
    return Credentials(url.rstrip("/"), token) if url and token else None


def forget() -> bool:
    path = config_path()
    if path.exists():
        path.unlink()
        return True
    return False
