import django_filters
from django import forms

from portal.core.models import AuditEvent


class AuditEventFilterSet(django_filters.FilterSet):
    actor = django_filters.CharFilter(field_name="actor_username", lookup_expr="iexact", label="Who")
    action = django_filters.CharFilter(field_name="action", lookup_expr="startswith", label="Action starts with")
    object = django_filters.CharFilter(method="filter_object", label="Object")
    since = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "object", "since", "until"]

    def filter_object(self, queryset, name, value):
        """``registry.modelversion:12`` for one object, or words found in the object's name (churn v3)."""
        value = value.strip()
        if ":" in value and value.split(":", 1)[1].isdigit():
            object_type, object_id = value.split(":", 1)
            return queryset.filter(object_type=object_type, object_id=object_id)
        return queryset.filter(object_repr__icontains=value) if value else queryset
