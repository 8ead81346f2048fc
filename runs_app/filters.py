"""Filters for version history, shared by the history page and the records API."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from core.filters import SafeIsoDateTimeFilter
from runs_app.models import RecordModel, RecordSeed, VersionRecord
from templates_app.definition import split_model


class RecordFilter(django_filters.FilterSet):
    workflow = django_filters.CharFilter(field_name="workflow__slug")
    q = django_filters.CharFilter(method="search", label="Text in the label or the annotation")
    model = django_filters.CharFilter(method="by_model", label="family or family@snapshot")
    seed = django_filters.NumberFilter(method="by_seed")
    approved = django_filters.BooleanFilter(field_name="approved_at", lookup_expr="isnull", exclude=True)
    since = SafeIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = SafeIsoDateTimeFilter(field_name="created_at", lookup_expr="lte", end_of_day=True)

    class Meta:
        model = VersionRecord
        fields = ["workflow", "q", "model", "seed", "approved", "since", "until"]

    def search(self, queryset: QuerySet[VersionRecord], name: str, value: str) -> QuerySet[VersionRecord]:
        return queryset.filter(Q(label__icontains=value) | Q(annotation__icontains=value))

    def by_model(self, queryset: QuerySet[VersionRecord], name: str, value: str) -> QuerySet[VersionRecord]:
        family, snapshot = split_model(value)
        # "local/plasma" or "local/plasma@2026-06-15" exactly; a bare word such as "plasma" matches any family with it.
        by_family = {"family": family} if "/" in family else {"family__icontains": family}
        rows = RecordModel.objects.filter(record=OuterRef("pk"), **by_family)
        if snapshot:
            rows = rows.filter(snapshot=snapshot)
        return queryset.filter(Exists(rows))

    def by_seed(self, queryset: QuerySet[VersionRecord], name: str, value: Any) -> QuerySet[VersionRecord]:
        return queryset.filter(Exists(RecordSeed.objects.filter(record=OuterRef("pk"), seed=int(value))))
