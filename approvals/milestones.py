"""Milestones the flow metrics read (docs/architecture.md), rebuilt from the history: a model's first upload, first
version in test and in production; each stage change's entry time (the dwell); arrivals in production that a
rollback undid. The services keep them as things happen; this rebuilds them from the rows (the data
migration that introduced them, and tests that write history directly)."""

from __future__ import annotations

from collections import defaultdict

from django.apps import apps as global_apps
from django.db.models import Min

BATCH = 5000


def rebuild(apps=None) -> None:
    """``apps``: a migration's historical app registry, or None for the current models."""
    apps = apps or global_apps

    RegisteredModel = apps.get_model("registry", "RegisteredModel")
    ModelVersion = apps.get_model("registry", "ModelVersion")
    StageChange = apps.get_model("approvals", "StageChange")

    firsts: dict[int, dict] = defaultdict(dict)
    for row in ModelVersion.objects.values("model_id").annotate(first=Min("created_at")).order_by():
        firsts[row["model_id"]]["first_version_at"] = row["first"]
    for row in (
        StageChange.objects.filter(to_stage__in=["test", "production"])
        .values("version__model_id", "to_stage")
        .annotate(first=Min("created_at"))
        .order_by()
    ):
        firsts[row["version__model_id"]][f"first_{row['to_stage']}_at"] = row["first"]
    models = list(RegisteredModel.objects.only("id"))
    for m in models:
        values = firsts.get(m.id, {})
        m.first_version_at = values.get("first_version_at")
        m.first_test_at = values.get("first_test_at")
        m.first_production_at = values.get("first_production_at")
    RegisteredModel.objects.bulk_update(
        models, ["first_version_at", "first_test_at", "first_production_at"], batch_size=BATCH
    )

    uploaded = dict(ModelVersion.objects.values_list("id", "created_at"))
    model_of = dict(ModelVersion.objects.values_list("id", "model_id"))
    changes = list(
        StageChange.objects.order_by("created_at", "pk").only(
            "id", "version_id", "to_stage", "created_at", "request_id"
        )
    )
    rollbacks = set(
        apps.get_model("approvals", "PromotionRequest").objects.filter(action="rollback").values_list("id", flat=True)
    )
    last_change: dict[int, object] = {}
    arrival: dict[int, object] = {}  # model id → the change that brought its current production version
    departed: dict[int, dict] = {}  # model id → {request that took it out of production: its arrival}
    for change in changes:
        change.entered_at = last_change.get(change.version_id, uploaded.get(change.version_id))
        change.rolled_back_at = None
        last_change[change.version_id] = change.created_at
        model_id = model_of[change.version_id]
        current = arrival.get(model_id)
        if change.to_stage == "production":
            # A rollback undoes the version that was in production when it was applied (approvals.services._apply
            # retires that version first, in the same request): not one retired earlier by another request.
            undone = current or departed.get(model_id, {}).get(change.request_id)
            if change.request_id in rollbacks and undone is not None:
                undone.rolled_back_at = change.created_at
            arrival[model_id] = change
            departed.pop(model_id, None)
        elif current is not None and current.version_id == change.version_id:
            del arrival[model_id]  # it left production
            departed[model_id] = {change.request_id: current} if change.request_id else {}
    StageChange.objects.bulk_update(changes, ["entered_at", "rolled_back_at"], batch_size=BATCH)
