"""Append-only rows: querysets that refuse bulk rewrites of frozen columns and deletes.

A model opts in with `FROZEN_FIELDS` (columns never rewritten) and optionally `ONE_WAY`
(column → the value it may never go back to); database triggers hold the same rules."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


class ImmutableRowError(ValidationError):
    pass


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """Refuses bulk rewrites of frozen columns, so `QuerySet.update` cannot bypass save()."""

    def update(self, **kwargs: Any) -> int:
        touched = sorted(set(kwargs) & set(self._frozen()))
        if touched:
            raise ImmutableRowError(f"{self.model.__name__} is immutable; cannot update {', '.join(touched)}.")
        for name, refused in getattr(self.model, "ONE_WAY", {}).items():
            if name in kwargs and kwargs[name] == refused:
                raise ImmutableRowError(
                    f"{self.model.__name__}.{name} only moves one way; it cannot go back to {refused!r}."
                )
        return super().update(**kwargs)

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        touched = sorted(set(fields) & set(self._frozen()))
        if touched:
            raise ImmutableRowError(f"{self.model.__name__} is immutable; cannot update {', '.join(touched)}.")
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def delete(self) -> Any:
        raise ImmutableRowError(f"{self.model.__name__} rows are append-only and cannot be deleted.")

    def _frozen(self) -> list[str]:
        names = getattr(self.model, "FROZEN_FIELDS", [])
        # Accept both `workflow` and `workflow_id` spellings.
        return [*names, *(f"{n}_id" for n in names)]


class JSONList(models.Aggregate):
    """A group's values as a list, on PostgreSQL (jsonb_agg) and SQLite (json_group_array) alike —
    `make run` uses SQLite, where ArrayAgg does not exist. No order within the group is promised:
    callers sort what they get."""

    function = "JSON_GROUP_ARRAY"
    output_field = models.JSONField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, function="JSONB_AGG", **extra_context)
