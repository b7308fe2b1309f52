"""One FilterSet per list, shared by the pages and the API: the same filter means the same thing in both."""

from __future__ import annotations

import django_filters
from django.utils import timezone

from approvals.choices import UNRESOLVED, FindingStatus, RequestStatus, Severity
from approvals.models import Finding, PromotionRequest
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


class FindingFilterSet(django_filters.FilterSet):
    """The findings page's and /api/v1/findings/'s filters. The queryset must come from
    approvals.selectors.finding_list (it sorts by ``severity_rank``)."""

    status = django_filters.ChoiceFilter(
        choices=[("unresolved", "Unresolved (open or remediated)"), *FindingStatus.choices],
        method="filter_status",
        empty_label="Any status",
    )
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    model = django_filters.CharFilter(field_name="version__model__name", label="Model")
    version = django_filters.NumberFilter(field_name="version__number", label="Version")
    team = django_filters.CharFilter(field_name="version__model__team__slug", label="Team")
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner")
    request = django_filters.NumberFilter(field_name="request_id", label="Request")
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="Past due")
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="Title contains")
    ordering = django_filters.OrderingFilter(
        fields=(("due_date", "due"), ("severity_rank", "severity"), ("created_at", "created")),
        label="Sort",
    )

    class Meta:
        model = Finding
        fields = ["status", "severity", "model", "version", "team", "owner", "request", "overdue", "q"]

    def filter_status(self, queryset, name, value):
        return queryset.filter(status__in=UNRESOLVED) if value == "unresolved" else queryset.filter(status=value)

    def filter_overdue(self, queryset, name, value):
        past = {"status__in": UNRESOLVED, "due_date__lt": timezone.localdate()}
        return queryset.filter(**past) if value else queryset.exclude(**past)

    def filter_queryset(self, queryset):
        rows = super().filter_queryset(queryset)
        # Unless a sort was asked for: most severe first, then the earliest due.
        return rows if self.form.cleaned_data.get("ordering") else rows.order_by("-severity_rank", "due_date", "pk")
