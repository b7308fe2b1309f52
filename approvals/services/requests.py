"""The release workflow: open, decide, withdraw and apply promotion requests (docs/architecture.md).

One service applies a transition: lock the rows, check permission and guards, change the stage, write the
audit event, and schedule side effects after commit.
"""

from __future__ import annotations

from collections import Counter

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals import notify, selectors
from approvals.choices import Action, AuditAction, DecisionKind, RequestStatus
from approvals.models import Decision, Policy, PromotionRequest
from approvals.services.transitions import apply_if_ready, lock_model_of, previous_production
from approvals.workflow import Transition, transition_for, transitions_from
from portal.core.errors import ApplicationError, Conflict
from portal.core.roles import Role, user_roles
from portal.core.services import audit_event_record
from registry import permissions as registry_permissions
from registry.choices import Stage
from registry.models import ModelVersion, RegisteredModel


def may_request(user, version: ModelVersion, transition: Transition) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    model = version.model
    roles = user_roles(user)
    if Role.DATA_SCIENTIST in transition.requesters and Role.DATA_SCIENTIST in roles:
        return registry_permissions.can_change_model(user, model)
    if any(role in roles for role in transition.requesters if role != Role.DATA_SCIENTIST):
        return True
    return transition.owner_may_request and model.owner_id == user.pk


def require_some_request(user) -> None:
    """Refuse, before reading what they sent, people who may ask for no release step at all: only data
    scientists, IT operations and models' owners ask (approvals.workflow)."""
    roles = set(user_roles(user))
    if user.is_superuser or roles & {Role.DATA_SCIENTIST, Role.IT_OPERATIONS}:
        return
    if not RegisteredModel.objects.filter(owner=user).exists():
        raise PermissionDenied(
            "Your role cannot ask for release steps: data scientists, IT operations and a model's owner do."
        )


def offered_transitions(user, version: ModelVersion) -> list[Transition]:
    """The transitions the version page offers this user: allowed from its stage, and theirs to ask."""
    offered = []
    for transition in transitions_from(version.stage):
        if not may_request(user, version, transition):
            continue
        if transition.action == Action.ROLLBACK and previous_production(version) != version:
            continue
        offered.append(transition)
    return offered


def _may_open(actor: AbstractBaseUser, version: ModelVersion, action: str) -> tuple[Transition, Policy]:
    """The transition ``action`` asks for from the version's stage, if the actor may ask it, with its policy."""
    transition = transition_for(version.stage, action)
    if transition is None:
        raise ApplicationError(f"{version} is in {version.stage}: it cannot be asked to {action}.", field="action")
    if not may_request(actor, version, transition):
        raise PermissionDenied(f"Your role cannot {transition.label.lower()} for {version.model.name}.")
    if version.integrity_error and transition.target == Stage.PRODUCTION:
        raise ApplicationError(
            f"{version}'s stored artifact failed its integrity check ({version.integrity_error}) It cannot go to "
            "production until IT restores the file.",
            field="action",
        )
    if action == Action.ROLLBACK and previous_production(version) != version:
        raise ApplicationError(
            f"Only the version in production before the current one can be rolled back to; {version} is not it.",
            field="action",
        )
    policy = Policy.objects.filter(risk_tier=version.model.risk_tier, transition=transition.key).first()
    if policy is None:
        raise ApplicationError(
            f"No policy is set for {transition.key} at risk tier {version.model.risk_tier}; "
            "ask an administrator to add one."
        )
    return transition, policy


@transaction.atomic
def promotion_request_open(
    *, actor: AbstractBaseUser, version: ModelVersion, action: str, justification: str
) -> PromotionRequest:
    lock_model_of(version)
    version = ModelVersion.objects.select_for_update().select_related("model", "model__team").get(pk=version.pk)
    transition, policy = _may_open(actor, version, action)
    justification = (justification or "").strip()
    if len(justification) < 10:
        raise ApplicationError("Say why, in a sentence or more (at least 10 characters).", field="justification")
    try:
        with transaction.atomic():
            request = PromotionRequest.objects.create(
                version=version,
                action=action,
                from_stage=version.stage,
                to_stage=transition.target,
                justification=justification,
                requester=actor,
                policy=policy.snapshot(),
                artifact_sha256=version.sha256,
                waiting_roles=PromotionRequest.waiting_roles_for(policy.approvals, {}),
                artifact_author_id=version.created_by_id if action == Action.PROMOTE else None,
            )
    except IntegrityError:
        raise Conflict(f"{version} already has an open request; decide or withdraw it first.") from None
    audit_event_record(
        actor=actor,
        action=AuditAction.REQUEST_OPENED,
        obj=request,
        after={
            "version": str(version),
            "from": request.from_stage,
            "to": request.to_stage,
            "sha256": version.sha256,
            "policy": request.policy,
            "justification": justification,
        },
    )
    notify.emit("request.opened", notify.request_payload(request, actor=actor))
    if not apply_if_ready(request, actor=actor) and request.policy.get("approvals"):
        notify.email_people(
            subject=f"[Gatehouse] {version} → {request.to_stage}: your decision is needed",
            message=(
                f"{actor.get_username()} asks to move {version} from {request.from_stage} to "
                f"{request.to_stage}.\n\nWhy: {justification}\n\nRead the evidence and decide: "
                f"{notify.request_url(request)}\n"
            ),
            users=notify.approvers_for(request),
        )
    return request


ALREADY_DECIDED = "You have already decided on this request; a decision counts once per person."


def decision_roles(actor: AbstractBaseUser, request: PromotionRequest) -> list[str]:
    """The roles ``actor`` decides ``request`` in; or the refusal, worded for why they may not."""
    if not request.is_open:
        raise Conflict(f"The request is {request.get_status_display().lower()}; it takes no more decisions.")
    if actor.pk == request.requester_id:
        raise PermissionDenied("Nobody approves or rejects their own request.")
    roles = selectors.roles_user_can_decide_in(actor, request)
    if roles:
        return roles
    if request.decisions.filter(person=actor).exists():
        raise Conflict(ALREADY_DECIDED)
    if request.action == Action.PROMOTE and request.version.created_by_id == actor.pk:
        raise PermissionDenied(
            f"You uploaded the artifact of {request.version}: its promotion is decided by "
            "others (separation of duties)."
        )
    raise PermissionDenied("This request needs no decision from your roles.")


@transaction.atomic
def promotion_request_decide(
    *, actor: AbstractBaseUser, request: PromotionRequest, decision: str, comment: str
) -> PromotionRequest:
    lock_model_of(request)
    request = (
        PromotionRequest.objects.select_for_update().select_related("version", "version__model").get(pk=request.pk)
    )
    roles = decision_roles(actor, request)
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ApplicationError("Keep the comment under 2,000 characters.", field="comment")
    if decision not in DecisionKind.values:
        raise ApplicationError("Decide approve or reject.", field="decision")
    if decision == DecisionKind.REJECT and len(comment) < 5:
        raise ApplicationError("Say why you reject it, so the requester can act on it.", field="comment")
    try:
        with transaction.atomic():
            Decision.objects.create(request=request, person=actor, role=roles[0], decision=decision, comment=comment)
    except IntegrityError:
        raise Conflict(ALREADY_DECIDED) from None
    if decision == DecisionKind.APPROVE:
        given = Counter(request.decisions.filter(decision=DecisionKind.APPROVE).values_list("role", flat=True))
        request.waiting_roles = PromotionRequest.waiting_roles_for(request.policy.get("approvals", {}), given)
        request.save(update_fields=["waiting_roles"])
        audit_event_record(
            actor=actor, action=AuditAction.REQUEST_APPROVED, obj=request, after={"role": roles[0], "comment": comment}
        )
    notify.emit("request.decided", notify.request_payload(request, actor=actor, decision=decision))
    if decision == DecisionKind.REJECT:
        request.status = RequestStatus.REJECTED
        request.reason = comment
        request.closed_at = timezone.now()
        request.save()
        audit_event_record(
            actor=actor,
            action=AuditAction.REQUEST_REJECTED,
            obj=request,
            before={"status": RequestStatus.OPEN},
            after={"status": request.status, "reason": comment},
        )
        notify.emit("request.rejected", notify.request_payload(request, actor=actor, decision=decision))
        notify.email_people(
            subject=f"[Gatehouse] {request.version} → {request.to_stage}: rejected",
            message=f"{actor.get_username()} rejected your request: {comment}\n\n{notify.request_url(request)}\n",
            users=[request.requester],
        )
        return request
    apply_if_ready(request, actor=actor)
    return request


@transaction.atomic
def promotion_request_withdraw(*, actor: AbstractBaseUser, request: PromotionRequest, reason: str = "") -> None:
    lock_model_of(request)
    request = PromotionRequest.objects.select_for_update().get(pk=request.pk)
    if actor.pk != request.requester_id and not actor.is_superuser:
        raise PermissionDenied("Only the person who opened the request can withdraw it.")
    if not request.is_open:
        raise Conflict(f"The request is already {request.get_status_display().lower()}.")
    before = request.status
    request.status = RequestStatus.WITHDRAWN
    request.reason = reason or "Withdrawn by the requester."
    request.closed_at = timezone.now()
    request.save()
    audit_event_record(
        actor=actor,
        action=AuditAction.REQUEST_WITHDRAWN,
        obj=request,
        before={"status": before},
        after={"status": request.status, "reason": request.reason},
    )
    notify.emit("request.withdrawn", notify.request_payload(request, actor=actor))
