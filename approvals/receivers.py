"""How the workflow reacts to what the registry announces (registry.signals): new evidence, or a changed
model, may be what a waiting request needs to apply. Connected in ApprovalsConfig.ready()."""

from __future__ import annotations

from approvals.choices import RequestStatus
from approvals.models import PromotionRequest
from approvals.services import promotion_requests_recheck
from registry import signals


def on_evidence(sender, *, version_id: int, **kwargs) -> None:
    promotion_requests_recheck(version_id=version_id)


def on_model_changed(sender, *, model_id: int, **kwargs) -> None:
    """A completed card or a new SLO may be the evidence an approved request was waiting for."""
    waiting = PromotionRequest.objects.filter(version__model_id=model_id, status=RequestStatus.APPROVED)
    for version_id in waiting.values_list("version_id", flat=True):
        promotion_requests_recheck(version_id=version_id)


def connect() -> None:
    signals.version_evidence_recorded.connect(on_evidence, dispatch_uid="approvals.on_evidence")
    signals.model_changed.connect(on_model_changed, dispatch_uid="approvals.on_model_changed")
