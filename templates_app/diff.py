"""The definition diff of two versions (DESIGN §14): what changed, path by path as JSON Pointers
(RFC 6901), with the bump class the change implies — computed by templates_app.bump.classify_bump,
the very function the publish gate uses, so a diff never disagrees with a publish."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from templates_app.bump import classify_bump
from templates_app.catalogue import Catalogue
from templates_app.models import Bump, WorkflowVersion

_MISSING = object()


@dataclass(frozen=True)
class Change:
    op: str  # add | remove | replace
    path: str  # a JSON Pointer into the definition
    before: Any = None  # absent for add
    after: Any = None  # absent for remove

    @property
    def has_before(self) -> bool:
        return self.op != "add"

    @property
    def has_after(self) -> bool:
        return self.op != "remove"

    def as_json(self) -> dict[str, Any]:
        return {"op": self.op, "path": self.path, "from": self.before, "to": self.after}


@dataclass
class DefinitionDiff:
    bump: Bump
    reasons: list[str]
    changes: list[Change] = field(default_factory=list)

    def changes_json(self) -> list[dict[str, Any]]:
        return [c.as_json() for c in self.changes]


def pointer_token(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def changes(before: Any, after: Any, path: str = "") -> list[Change]:
    """Every leaf that differs, depth first. Objects are compared key by key; lists position by
    position, except that steps (a list of objects with an `id`) are matched by id, so inserting a
    step reads as one `add` rather than a replacement of every step after it."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[Change] = []
        for key in list(before) + [k for k in after if k not in before]:
            child = f"{path}/{pointer_token(key)}"
            old, new = before.get(key, _MISSING), after.get(key, _MISSING)
            if old is _MISSING:
                found.append(Change("add", child, None, new))
            elif new is _MISSING:
                found.append(Change("remove", child, old, None))
            else:
                found.extend(changes(old, new, child))
        return found
    if isinstance(before, list) and isinstance(after, list):
        if _by_id(before) is not None and _by_id(after) is not None:
            return _list_by_id(before, after, path)
        found = []
        for i in range(max(len(before), len(after))):
            child = f"{path}/{i}"
            if i >= len(before):
                found.append(Change("add", child, None, after[i]))
            elif i >= len(after):
                found.append(Change("remove", child, before[i], None))
            else:
                found.extend(changes(before[i], after[i], child))
        return found
    if before == after and type(before) is type(after):
        return []
    return [Change("replace", path, before, after)]


def _by_id(items: list[Any]) -> dict[str, int] | None:
    ids = [i.get("id") for i in items if isinstance(i, dict)]
    if len(ids) != len(items) or not all(isinstance(i, str) for i in ids) or len(set(ids)) != len(ids):
        return None
    return {str(i): n for n, i in enumerate(ids)}


def _list_by_id(before: list[Any], after: list[Any], path: str) -> list[Change]:
    """Steps matched by id; the pointer names the position in the list the change is read from (the
    new list for adds and changes, the old one for removals)."""
    old_at, new_at = _by_id(before) or {}, _by_id(after) or {}
    found: list[Change] = []
    for sid, n in new_at.items():
        if sid in old_at:
            found.extend(changes(before[old_at[sid]], after[n], f"{path}/{n}"))
        else:
            found.append(Change("add", f"{path}/{n}", None, after[n]))
    for sid, n in old_at.items():
        if sid not in new_at:
            found.append(Change("remove", f"{path}/{n}", before[n], None))
    return found


def diff_definitions(before: dict[str, Any], after: dict[str, Any], catalogue: Catalogue) -> DefinitionDiff:
    """From `before` to `after`: the changes and the bump class publishing `after` over `before` implies."""
    bump = classify_bump(before, after, catalogue)
    return DefinitionDiff(bump.bump, bump.reasons, changes(before, after))


def diff_versions(
    before: WorkflowVersion, after: WorkflowVersion, catalogue: Catalogue | None = None
) -> DefinitionDiff:
    return diff_definitions(before.definition, after.definition, catalogue or Catalogue.load())
