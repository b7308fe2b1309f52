"""Applying requests: once every approval and piece of evidence is in, the version changes stage (and the one
it replaces in production retires); a request the world moved past is closed with the reason. Called by the
request services (approvals.services.requests) and when evidence arrives (promotion_requests_recheck).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from approvals import notify, selectors, signals
from approvals.choices import Action, AuditAction, RequestStatus
from approvals.models import PromotionRequest, StageChange
from approvals.services.attestations import attestation_issue
from portal.core.services import audit_checkpoint_sign, audit_event_record
from registry.choices import Stage
from registry.models import ModelVersion, RegisteredModel
from registry.services import model_milestone_record


def lock_model_of(request_or_version) -> None:
    """Every release service locks the model's row first, so two services never wait on each other
    (request → audit lock → another request would deadlock against withdraw)."""
    version_id = getattr(request_or_version, "version_id", None) or request_or_version.pk
    model_id = ModelVersion.objects.filter(pk=version_id).values_list("model_id", flat=True).get()
    RegisteredModel.objects.select_for_update().filter(pk=model_id).exists()


def previous_production(version: ModelVersion) -> ModelVersion | None:
    """The version that was in production before the current one: what a rollback may bring back."""
    changes = StageChange.objects.filter(version__model=version.model, to_stage=Stage.PRODUCTION).order_by(
        "-created_at", "-pk"
    )
    current = ModelVersion.objects.in_production().filter(model_id=version.model_id).first()
    for change in changes:
        if current is None or change.version_id != current.pk:
            return change.version
    return None


def promotion_requests_recheck(*, version_id: int) -> None:
    """Evidence arrived for a version (a job finished): apply its open request if it is now ready."""
    with transaction.atomic():
        if not ModelVersion.objects.filter(pk=version_id).exists():
            return
        lock_model_of(ModelVersion(pk=version_id))
        request = PromotionRequest.objects.select_for_update().open().filter(version_id=version_id).first()
        if request is not None:
            apply_if_ready(request, actor=None)


def apply_if_ready(request: PromotionRequest, *, actor) -> bool:
    """Apply the transition when every approval and every piece of evidence is in. Runs in the caller's
    transaction with the request row locked."""
    version = ModelVersion.objects.select_for_update().select_related("model").get(pk=request.version_id)
    # The guards are checked again now, not only when the request opened: the world may have moved.
    if version.sha256 != request.artifact_sha256:
        _close_stale(
            request,
            f"The artifact of {version} is no longer the one this request was opened for (its "
            f"SHA-256 was {request.artifact_sha256[:12]}…, it is {version.sha256[:12]}… now): the "
            "evidence and approvals were about other bytes. Open a new request.",
        )
        return False
    if version.stage != request.from_stage:
        _close_stale(request, f"{version} moved to {version.stage} by another path; this request no longer applies.")
        return False
    if request.action == Action.ROLLBACK and previous_production(version) != version:
        _close_stale(
            request,
            f"{version} is no longer the version that was in production before the current one; "
            "a rollback now would skip a version.",
        )
        return False
    if version.integrity_error and request.to_stage == Stage.PRODUCTION:
        return False  # the stored bytes are not the ones approved: nothing moves until IT restores them
    approvals = selectors.approvals_status(request)
    if not approvals["complete"]:
        return False
    evidence = selectors.evidence_for(version, request.policy, request.artifact_sha256)
    missing = [item for item in evidence if not item.satisfied]
    if missing:
        if request.status != RequestStatus.APPROVED:
            request.status = RequestStatus.APPROVED
            request.save(update_fields=["status"])
        return False
    _apply(request, version, actor=actor, evidence=evidence)
    return True


def _close_stale(request: PromotionRequest, reason: str) -> None:
    request.status = RequestStatus.WITHDRAWN
    request.reason = reason
    request.closed_at = timezone.now()
    request.save()
    audit_event_record(
        actor=None,
        action=AuditAction.REQUEST_WITHDRAWN,
        obj=request,
        after={"status": request.status, "reason": reason},
    )
    notify.emit("request.withdrawn", notify.request_payload(request))


def _apply(request: PromotionRequest, version: ModelVersion, *, actor, evidence: list) -> None:
    now = timezone.now()
    undone = None
    if request.to_stage == Stage.PRODUCTION:
        current = ModelVersion.objects.select_for_update().in_production().filter(model_id=version.model_id).first()
        if current is not None:
            verb = "Rolled back to" if request.action == Action.ROLLBACK else "Superseded by"
            if request.action == Action.ROLLBACK:  # the deployment being undone counts as a failed change
                undone = (
                    StageChange.objects.filter(version=current, to_stage=Stage.PRODUCTION)
                    .order_by("-created_at", "-pk")
                    .values_list("pk", flat=True)
                    .first()
                )
            _change_stage(current, Stage.RETIRED, actor=actor, request=request, reason=f"{verb} v{version.number}")
    how = "" if actor is not None else " (applied when the last evidence arrived)"
    change = _change_stage(
        version,
        request.to_stage,
        actor=actor,
        request=request,
        reason=f"Request #{request.pk}{how}: {request.justification[:240]}",
    )
    if undone is not None:
        StageChange.objects.filter(pk=undone).update(rolled_back_at=change.created_at)
    request.status = RequestStatus.APPLIED
    request.closed_at = now
    request.version = version  # the instance whose stage just changed, for the payloads below
    request.save()
    event = audit_event_record(
        actor=actor,
        action=AuditAction.REQUEST_APPLIED,
        obj=request,
        after={
            "status": request.status,
            "version": str(version),
            "stage": request.to_stage,
            "sha256": request.artifact_sha256,
        },
    )
    attestation = attestation_issue(request=request, version=version, event=event, evidence=evidence, actor=actor)
    # Every release is also a checkpoint of the audit chain, signed once what it recorded has committed.
    # Robust: the release has committed by then; a failure to sign is logged, and beat signs the next one.
    transaction.on_commit(lambda: audit_checkpoint_sign(reason=f"release of {version}"), robust=True)
    notify.emit(
        "request.applied", {**notify.request_payload(request, actor=actor), "attestation": attestation.envelope}
    )
    notify.email_people(
        subject=f"[Gatehouse] {version} is now in {request.to_stage}",
        message=f"Your request #{request.pk} was applied.\n\n{notify.request_url(request)}\n",
        users=[request.requester],
    )


def _change_stage(version: ModelVersion, to_stage: str, *, actor, request, reason: str) -> StageChange:
    from_stage = version.stage
    version.stage = to_stage
    version.save(update_fields=["stage"])
    entered = (
        StageChange.objects.filter(version=version)
        .order_by("-created_at", "-pk")
        .values_list("created_at", flat=True)
        .first()
    ) or version.created_at
    change = StageChange.objects.create(
        version=version,
        from_stage=from_stage,
        to_stage=to_stage,
        request=request,
        actor=actor,
        reason=reason[:300],
        entered_at=entered,
    )
    model_milestone_record(model_id=version.model_id, stage=to_stage, at=change.created_at)
    transaction.on_commit(
        lambda: signals.version_stage_changed.send(
            sender=ModelVersion,
            version_id=version.pk,
            model_id=version.model_id,
            from_stage=from_stage,
            to_stage=to_stage,
        )
    )
    # Requests opened on this version for its old stage no longer apply: close them now, not at the next click.
    open_ones = PromotionRequest.objects.select_for_update().open().filter(version=version)
    for stale in open_ones.exclude(pk=getattr(request, "pk", None)):
        _close_stale(
            stale, f"{version} moved from {from_stage} to {to_stage} ({reason[:120]}); this request no longer applies."
        )
    audit_event_record(
        actor=actor,
        action=AuditAction.VERSION_STAGE_CHANGED,
        obj=version,
        before={"stage": from_stage},
        after={"stage": to_stage, "reason": reason[:300], "request": request.pk if request else None},
    )
    notify.emit(
        "version.stage_changed",
        {
            "model": version.model.name,
            "version": version.number,
            "from_stage": from_stage,
            "stage": to_stage,
            "artifact_sha256": version.sha256,
            "actor": actor.get_username() if actor else None,
            "request": request.pk if request else None,
            "reason": reason[:300],
        },
    )
    return change
