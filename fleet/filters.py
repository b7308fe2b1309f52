"""The workers' filters, for the API (one FilterSet per list, as elsewhere)."""

import django_filters

from fleet.models import Worker


class WorkerFilterSet(django_filters.FilterSet):
    device_class = django_filters.CharFilter(field_name="device_class", help_text="A GPU class, e.g. h100.")
    # A choice, not a BooleanFilter: "maybe" is refused (400), never read as "no filter".
    online = django_filters.ChoiceFilter(
        choices=[("true", "online"), ("false", "offline")], method="filter_online", help_text="true or false."
    )

    class Meta:
        model = Worker
        fields = ["device_class", "online"]

    def filter_online(self, queryset, name, value):
        online = Worker.objects.online().values("pk")
        return queryset.filter(pk__in=online) if value == "true" else queryset.exclude(pk__in=online)
