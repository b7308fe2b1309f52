"""The dashboard's reactions to what the workflow announces. Connected in PortalConfig.ready()."""

from __future__ import annotations

from approvals.signals import finding_changed, version_stage_changed
from portal.dashboard.snapshots import debt_snapshot_refresh


def on_stage_changed(sender, *, model_id: int, **kwargs) -> None:
    """A release moved a model: its debt on the dashboard moves with it, at once, not at the next snapshot."""
    debt_snapshot_refresh(model_ids=[model_id])


def on_finding_changed(sender, *, model_id: int, **kwargs) -> None:
    """A finding opened, resolved or re-dated may add or remove overdue-findings debt."""
    debt_snapshot_refresh(model_ids=[model_id])


def connect() -> None:
    version_stage_changed.connect(on_stage_changed, dispatch_uid="portal.dashboard.on_stage_changed")
    finding_changed.connect(on_finding_changed, dispatch_uid="portal.dashboard.on_finding_changed")
