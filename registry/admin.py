"""The registry in the Django admin: readable; its writes go through the portal's pages and the API, whose
services check the team rule and audit every change."""

from django.contrib import admin

from portal.core.admin import AuditedAdmin, ReadOnlyAdmin
from registry.models import Dataset, ModelVersion, RegisteredModel, Tag


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ReadOnlyAdmin):
    list_display = ["name", "team", "risk_tier", "task_type", "owner", "created_at"]
    list_filter = ["risk_tier", "task_type", "team"]
    search_fields = ["name", "description"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["model", "number", "stage", "sha256", "size_bytes", "created_at"]
    list_filter = ["stage"]


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ["model", "name", "format", "row_count", "created_at"]


admin.site.register(Tag, AuditedAdmin)
