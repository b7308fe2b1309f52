from django.contrib import admin

from registry.models import Dataset, ModelVersion, RegisteredModel, Tag


@admin.register(RegisteredModel)
class RegisteredModelAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "risk_tier", "task_type", "owner", "created_at"]
    list_filter = ["risk_tier", "task_type", "team"]
    search_fields = ["name", "description"]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Read-only: versions are created through the registry's services, which audit them."""

    list_display = ["model", "number", "stage", "sha256", "size_bytes", "created_at"]
    list_filter = ["stage"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["model", "name", "format", "row_count", "created_at"]

    def has_add_permission(self, request):
        return False


admin.site.register(Tag)
