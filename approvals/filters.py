"""One FilterSet per list, shared by the pages and the API: the same filter means the same thing in both."""

from __future__ import annotations

import django_filters

from approvals.choices import RequestStatus
from approvals.models import PromotionRequest
from registry.models import ModelVersion


class PromotionRequestFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices, empty_label="Any status")
    model = django_filters.CharFilter(field_name="version__model__name", label="Model")
    requester = django_filters.CharFilter(field_name="requester__username", label="Asked by")

    class Meta:
        model = PromotionRequest
        fields = ["status", "model", "requester"]

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset).order_by("-created_at", "-pk")


class ProductionFilterSet(django_filters.FilterSet):
    model = django_filters.CharFilter(field_name="model__name", label="Model")

    class Meta:
        model = ModelVersion
        fields = ["model"]
