"""The default policy (README, "Release workflow"), as data that admins edit afterwards."""

from django.db import migrations

TIERS = ("low", "medium", "high", "critical")
DS, IT, RISK = "data-scientists", "it-operations", "risk-reviewers"

DEFAULTS = {
    "design->test": {
        "evidence": {"validation": True, "card_complete": True},
        "approvals": {"low": {}, "medium": {}, "high": {DS: 1}, "critical": {DS: 1}},
    },
    "test->production": {
        # benchmark_device "" accepts a benchmark on any device; set "gpu" where production runs on GPUs.
        "evidence": {"validation": True, "benchmark": True, "benchmark_device": ""},
        "approvals": {"low": {IT: 1}, "medium": {IT: 1}, "high": {IT: 1, RISK: 1}, "critical": {IT: 2, RISK: 1}},
    },
    "production->retired": {
        "evidence": {},
        "approvals": {tier: {IT: 1} for tier in TIERS},
        "owner_may_approve": True,
    },
    "rollback": {
        "evidence": {"validation": True, "benchmark": True, "benchmark_device": ""},
        "approvals": {tier: {IT: 1} for tier in TIERS},
    },
}


def create(apps, schema_editor):
    Policy = apps.get_model("approvals", "Policy")
    for transition, spec in DEFAULTS.items():
        for tier in TIERS:
            Policy.objects.get_or_create(
                risk_tier=tier,
                transition=transition,
                defaults={
                    "evidence": spec["evidence"],
                    "approvals": spec["approvals"][tier],
                    "owner_may_approve": spec.get("owner_may_approve", False),
                },
            )


def remove(apps, schema_editor):
    apps.get_model("approvals", "Policy").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_requests_decisions_policies")]

    operations = [migrations.RunPython(create, remove)]
