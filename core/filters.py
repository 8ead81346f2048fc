"""Filter fields that refuse what the database cannot store, with a 400 instead of a 500."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class SafeIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 date-times, or a bare date: the start of that day (UTC), or its end with end_of_day."""

    def __init__(self, *args: Any, end_of_day: bool = False, **kwargs: Any) -> None:
        self.end_of_day = end_of_day
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> dt.datetime | None:
        if isinstance(value, str) and len(value.strip()) == 10:
            try:
                day = dt.date.fromisoformat(value.strip())
            except ValueError:
                raise ValidationError(
                    "Use a date such as 2026-06-01 or an ISO 8601 date-time.", code="invalid"
                ) from None
            return dt.datetime.combine(day, dt.time.max if self.end_of_day else dt.time.min, tzinfo=dt.UTC)
        parsed = super().to_python(value)
        if parsed is None:
            return None
        offset = parsed.utcoffset()
        if offset is not None and abs(offset) > dt.timedelta(hours=14):
            raise ValidationError("The time zone offset must be within ±14:00.", code="invalid")
        try:
            utc = parsed.astimezone(dt.UTC) if offset is not None else parsed
        except OverflowError:
            raise ValidationError("The date is out of range.", code="invalid") from None
        if not 1 <= utc.year <= 9999:
            raise ValidationError("The date is out of range.", code="invalid")
        return utc


class SafeIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = SafeIsoDateTimeField

    def __init__(self, *args: Any, end_of_day: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("end_of_day", end_of_day)
        super().__init__(*args, **kwargs)


__all__ = ["SafeIsoDateTimeFilter"]
