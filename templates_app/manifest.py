"""Manifests: a definition as RFC 8785 canonical JSON, named by its sha256."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

from core.errors import Problem, ValidationFailed


def canonical_bytes(document: Any) -> bytes:
    """RFC 8785 bytes of a JSON document; refuses what JSON cannot carry (NaN, ±Infinity, huge ints)."""
    try:
        return rfc8785.dumps(document)
    except rfc8785.CanonicalizationError as exc:
        raise ValidationFailed(
            [Problem("invalid_number", "", f"The definition holds a number JSON cannot carry exactly: {exc}.")]
        ) from None


def content_hash(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def manifest_of(definition: Any) -> tuple[str, str]:
    """(canonical JSON text, `sha256:<hex>`) of a definition."""
    data = canonical_bytes(definition)
    return data.decode("utf-8"), content_hash(data)
