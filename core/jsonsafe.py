"""Bounds on JSON documents: nesting depth and NUL characters, checked in one place.

Python's JSON decoder recurses once per level and gives up with RecursionError near
1,000 levels; PostgreSQL refuses `\\u0000` in text and jsonb. Either would surface as
a 500. Every JSON body the API parses goes through SafeJSONParser, the draft pages
through loads(), and services check what they store with check_json(), so a deep or
NUL-bearing document is a 400 with a clear problem wherever it comes from."""

from __future__ import annotations

import json
import sys
from typing import Any

from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

from core.errors import Problem, ValidationFailed

# No API body needs more: a definition is capped lower still when a draft is saved.
MAX_BODY_DEPTH = 64


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def json_problems(value: Any, *, path: str = "", max_depth: int = MAX_BODY_DEPTH) -> list[Problem]:
    """Too deep or carrying NUL characters: at most one problem of each, found without recursion."""
    problems: list[Problem] = []
    too_deep = has_nul = False
    stack: list[tuple[Any, int, str]] = [(value, 0, path)]
    while stack and not (too_deep and has_nul):
        item, depth, where = stack.pop()
        if isinstance(item, str):
            if not has_nul and "\x00" in item:
                has_nul = True
                problems.append(Problem("invalid_character", where, "Text may not contain NUL (\\u0000) characters."))
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth >= max_depth:
            if not too_deep:
                too_deep = True
                problems.append(
                    Problem("too_deep", where, f"JSON is nested more than {max_depth} levels deep here; flatten it.")
                )
            continue
        entries = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in entries:
            if not has_nul and isinstance(key, str) and "\x00" in key:
                has_nul = True
                problems.append(Problem("invalid_character", where, "Keys may not contain NUL (\\u0000) characters."))
            stack.append((child, depth + 1, _join(where, key)))
    return problems


def check_json(value: Any, *, path: str = "", max_depth: int = MAX_BODY_DEPTH) -> None:
    """Raise ValidationFailed (400) when a document is too deep or carries NUL characters."""
    if problems := json_problems(value, path=path, max_depth=max_depth):
        raise ValidationFailed(problems)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(text: str | bytes, *, path: str = "", max_depth: int = MAX_BODY_DEPTH) -> Any:
    """json.loads that answers a 400 problem for bad, too deep or NUL-bearing JSON (never RecursionError)."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValidationFailed(
            [Problem("too_deep", path, f"JSON is nested more than {max_depth} levels deep.")]
        ) from None
    except ValueError as exc:
        raise ValidationFailed([Problem("invalid_json", path, f"Not valid JSON: {exc}")]) from None
    check_json(value, path=path, max_depth=max_depth)
    return value


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, bounded: deep nesting and NUL characters are a 400, not a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            value = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ValidationFailed(
                [Problem("too_deep", "", f"JSON is nested more than {MAX_BODY_DEPTH} levels deep.")]
            ) from None
        check_json(value)
        return value


class LegacyDepthDecoder(json.JSONDecoder):
    """Reads JSON stored before depth caps existed (drafts nested hundreds deep) wherever it is read.

    Python's decoder recurses once per level against the interpreter's recursion limit, so how
    deep a document can be read depends on how deep the caller's stack already is: a draft that a
    shell reads fine fails inside a request. On that failure only, read it again with the limit
    raised by the document's possible depth; what can be written now is capped far lower."""

    def decode(self, s: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().decode(s, *args, **kwargs)
        except RecursionError:
            limit = sys.getrecursionlimit()
            # Bounded: each level costs C stack too, and a few thousand levels fit well within it.
            sys.setrecursionlimit(limit + min(s.count("[") + s.count("{"), 3_000))
            try:
                return super().decode(s, *args, **kwargs)
            finally:
                sys.setrecursionlimit(limit)


class LegacyDepthJSONRenderer(JSONRenderer):
    """Writes what LegacyDepthDecoder reads: a draft stored hundreds of levels deep. The encoder
    recurses once per level too, so whether it fits depends on the stack the request already holds
    (a test runner's or a worker's is deeper than gunicorn's). On RecursionError only, render again
    with the limit raised, bounded as the decoder's is."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except RecursionError:
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(limit + 3_000)
            try:
                return super().render(data, accepted_media_type, renderer_context)
            finally:
                sys.setrecursionlimit(limit)
