"""One FilterSet per list, shared by the HTML pages and the API (NetBox's pattern)."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from portal.core.models import Team
from registry.choices import JobKind, JobStatus, RiskTier, Stage, TaskType, Verdict
from registry.models import Job, ModelVersion, RegisteredModel


class RegisteredModelFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    name_prefix = django_filters.CharFilter(field_name="name", lookup_expr="startswith", label="Name starts with")
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), to_field_name="slug", empty_label="All teams")
    stage = django_filters.ChoiceFilter(choices=Stage.choices, method="filter_stage", empty_label="Any stage")
    risk_tier = django_filters.ChoiceFilter(choices=RiskTier.choices, empty_label="Any risk tier")
    task_type = django_filters.ChoiceFilter(choices=TaskType.choices, empty_label="Any task")
    tag = django_filters.CharFilter(method="filter_tag", label="Tag")
    sort = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("risk_rank", "risk_tier"),
            ("team__name", "team"),
            ("created_at", "created"),
            ("last_version_at", "updated"),
        ),
        label="Sort",
    )

    class Meta:
        model = RegisteredModel
        fields = ["q", "name_prefix", "team", "stage", "risk_tier", "task_type", "tag"]

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        # A stable order for pagination: the chosen sort, then the name.
        return queryset.order_by(*queryset.query.order_by, "name")

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # A model matches by its name, description or any of its tags.
        tagged = RegisteredModel.tags.through.objects.filter(tag__name__iexact=value).values("registeredmodel_id")
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value) | Q(pk__in=tagged))

    def filter_tag(self, queryset, name, value):
        value = value.strip().lower()
        if not value:
            return queryset
        tagged = RegisteredModel.tags.through.objects.filter(tag__name=value).values("registeredmodel_id")
        return queryset.filter(pk__in=tagged)

    def filter_stage(self, queryset, name, value):
        # Subqueries, not joins: a join on versions would multiply the rows the list annotates.
        if not value:
            return queryset
        return queryset.filter(pk__in=ModelVersion.objects.filter(stage=value).values("model_id"))


class JobFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=JobStatus.choices, empty_label="Any status")
    kind = django_filters.ChoiceFilter(choices=JobKind.choices, empty_label="Any kind")
    model = django_filters.CharFilter(field_name="version__model__name", label="Model")
    version = django_filters.NumberFilter(field_name="version__number", label="Version")
    queue = django_filters.CharFilter(field_name="queue")
    verdict = django_filters.ChoiceFilter(choices=Verdict.choices, empty_label="Any verdict")
    worker = django_filters.CharFilter(
        field_name="worker", label="Worker", help_text="The worker's name, e.g. gpu0@node-7."
    )

    class Meta:
        model = Job
        fields = ["status", "kind", "model", "version", "queue", "verdict", "worker"]

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset).order_by("-created_at", "-pk")
