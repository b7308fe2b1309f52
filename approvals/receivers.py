"""How the workflow reacts to what the registry announces (registry.signals): new evidence, or a changed
model, may be what a waiting request needs to apply. Connected in ApprovalsConfig.ready()."""

from __future__ import annotations

from django.db import transaction

from approvals import notify
from approvals.choices import Action, RequestStatus
from approvals.models import Policy, PromotionRequest
from approvals.services import promotion_requests_recheck
from approvals.workflow import transition_for
from portal.core.signals import audit_checkpointed
from registry import signals


def on_evidence(sender, *, version_id: int, **kwargs) -> None:
    promotion_requests_recheck(version_id=version_id)


def on_model_changed(sender, *, model_id: int, **kwargs) -> None:
    """A completed card or a new SLO may be the evidence an approved request was waiting for."""
    waiting = PromotionRequest.objects.filter(version__model_id=model_id, status=RequestStatus.APPROVED)
    for version_id in waiting.values_list("version_id", flat=True):
        promotion_requests_recheck(version_id=version_id)


def benchmark_device_wanted(sender, *, version, **kwargs) -> str:
    """The device a benchmark must run on to count for this version's next step: the open request's policy
    (the snapshot it was opened under), else the policy for promoting it from where it stands."""
    open_request = PromotionRequest.objects.open().filter(version=version).only("policy").first()
    if open_request is not None:
        return open_request.policy.get("evidence", {}).get("benchmark_device") or ""
    transition = transition_for(version.stage, Action.PROMOTE)
    if transition is None:
        return ""
    policy = Policy.objects.filter(risk_tier=version.model.risk_tier, transition=transition.key).first()
    return (policy.evidence.get("benchmark_device") or "") if policy else ""


def on_audit_checkpoint(sender, *, seq: int, head_hash: str, envelope: dict, **kwargs) -> None:
    """A signed checkpoint of the audit chain goes to the webhooks too: kept where this database cannot
    reach, it is what a rewritten audit table is checked against (README: "An audit chain…")."""
    with transaction.atomic():
        notify.emit("audit.checkpoint", {"seq": seq, "hash": head_hash, "envelope": envelope})


def connect() -> None:
    audit_checkpointed.connect(on_audit_checkpoint, dispatch_uid="approvals.on_audit_checkpoint")
    signals.version_evidence_recorded.connect(on_evidence, dispatch_uid="approvals.on_evidence")
    signals.model_changed.connect(on_model_changed, dispatch_uid="approvals.on_model_changed")
    signals.benchmark_device_wanted.connect(benchmark_device_wanted, dispatch_uid="approvals.benchmark_device")
