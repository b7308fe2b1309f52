from django.contrib import admin

from approvals.models import (
    Attestation,
    Decision,
    Finding,
    FindingComment,
    Policy,
    PromotionRequest,
    StageChange,
    Webhook,
    WebhookDelivery,
)
from approvals.services import policy_save
from portal.core.admin import AuditedAdmin, ReadOnlyAdmin


@admin.register(Policy)
class PolicyAdmin(AuditedAdmin):
    """Admins edit policies here, through the policy service (validated, audited); open requests keep the
    snapshot they were opened under."""

    audited_by_service = True
    list_display = [
        "transition",
        "risk_tier",
        "evidence",
        "approvals",
        "owner_may_approve",
        "blocking_findings",
        "updated_at",
    ]
    list_filter = ["transition", "risk_tier"]

    def save_model(self, request, obj, form, change):
        policy_save(actor=request.user, policy=obj)


@admin.register(Webhook)
class WebhookAdmin(AuditedAdmin):
    list_display = ["url", "description", "events", "active", "created_at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event", "webhook", "attempt", "status", "response_code", "error", "created_at"]
    list_filter = ["status", "event"]


admin.site.register(PromotionRequest, ReadOnlyAdmin)
admin.site.register(Decision, ReadOnlyAdmin)
admin.site.register(StageChange, ReadOnlyAdmin)
admin.site.register(Attestation, ReadOnlyAdmin)  # what was signed is never edited
# Findings change through their pages and API (approvals.services.findings: audited, e-mailed, re-checking the
# release they hold back); the admin shows them as they are.
admin.site.register(Finding, ReadOnlyAdmin)
admin.site.register(FindingComment, ReadOnlyAdmin)
