"""The workers' filters, for the API (one FilterSet per list, as elsewhere)."""

import django_filters

from fleet.models import Worker


class WorkerFilterSet(django_filters.FilterSet):
    device_class = django_filters.CharFilter(field_name="device_class", help_text="A GPU class, e.g. h100.")
    online = django_filters.BooleanFilter(method="filter_online", help_text="true: online now; false: offline.")

    class Meta:
        model = Worker
        fields = ["device_class", "online"]

    def filter_online(self, queryset, name, value):
        online = Worker.objects.online().values("pk")
        return queryset.filter(pk__in=online) if value else queryset.exclude(pk__in=online)
