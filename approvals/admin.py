from django.contrib import admin

from approvals.models import Decision, Policy, PromotionRequest, StageChange, Webhook, WebhookDelivery


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    """Admins edit policies here; open requests keep the snapshot they were opened under."""

    list_display = ["transition", "risk_tier", "evidence", "approvals", "owner_may_approve", "updated_at"]
    list_filter = ["transition", "risk_tier"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["url", "description", "events", "active", "created_at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "webhook", "attempt", "status", "response_code", "error", "created_at"]
    list_filter = ["status", "event"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(PromotionRequest, _ReadOnly)
admin.site.register(Decision, _ReadOnly)
admin.site.register(StageChange, _ReadOnly)
