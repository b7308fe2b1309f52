from django.contrib import admin

from fleet.models import Worker
from portal.core.admin import ReadOnlyAdmin


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    """What workers report is theirs to write: the admin reads it (the Workers page is /workers/)."""

    list_display = ("name", "device_class", "last_seen_at", "stopped_at", "current_job_id")
    list_filter = ("device_class",)
    search_fields = ("name", "hostname")
