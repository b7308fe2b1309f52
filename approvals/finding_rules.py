"""The findings' state table and who may take each step: plain rules, read by the services, the pages' buttons
and the tests (docs/architecture.md, "The release workflow"). ``refusal`` words why a step is not someone's."""

from __future__ import annotations

from dataclasses import dataclass

from approvals.choices import FindingStatus, Severity
from approvals.models import Finding
from portal.core.roles import Role, user_roles
from registry import permissions as registry_permissions
from registry.models import ModelVersion

# Days to the due date a new finding is offered, by severity (the reviewer may set another).
DUE_DAYS = {Severity.CRITICAL: 7, Severity.HIGH: 14, Severity.MEDIUM: 30, Severity.LOW: 90}
REVIEWERS = (Role.IT_OPERATIONS, Role.RISK_REVIEWER)
EDITABLE = ("title", "severity", "description", "owner", "due_date")


@dataclass(frozen=True)
class FindingTransition:
    action: str
    source: tuple[str, ...]
    target: str
    label: str
    needs: str  # what the comment must say, in the form's words


FINDING_TRANSITIONS = {
    "remediate": FindingTransition(
        "remediate", (FindingStatus.OPEN,), FindingStatus.REMEDIATED, "Mark remediated", "what was done"
    ),
    "verify": FindingTransition(
        "verify", (FindingStatus.REMEDIATED,), FindingStatus.VERIFIED, "Verify the fix", "how it was checked"
    ),
    "accept": FindingTransition(
        "accept",
        (FindingStatus.OPEN, FindingStatus.REMEDIATED),
        FindingStatus.ACCEPTED,
        "Accept the risk",
        "why the risk is acceptable",
    ),
    "reopen": FindingTransition(
        "reopen",
        (FindingStatus.REMEDIATED, FindingStatus.VERIFIED, FindingStatus.ACCEPTED),
        FindingStatus.OPEN,
        "Reopen",
        "what is still wrong",
    ),
}
MIN_COMMENT = {"remediate": 10, "verify": 10, "accept": 20, "reopen": 10}


def _is_reviewer(user) -> bool:
    return user.is_superuser or any(role in REVIEWERS for role in user_roles(user))


def can_open_finding(user, version: ModelVersion) -> bool:
    """IT and risk reviewers on any model; data scientists on their own team's models."""
    if not user.is_authenticated:
        return False
    return _is_reviewer(user) or registry_permissions.can_change_model(user, version.model)


def can_edit_finding(user, finding: Finding) -> bool:
    return not finding.is_resolved and (_is_reviewer(user) or finding.raised_by_id == user.pk)


def can_comment(user, finding: Finding) -> bool:
    return user.is_authenticated and (
        _is_reviewer(user)
        or finding.owner_id == user.pk
        or finding.raised_by_id == user.pk
        or registry_permissions.can_change_model(user, finding.version.model)
    )


def refusal(user, finding: Finding, action: str) -> str | None:
    """Why ``user`` may not take ``action`` on ``finding`` now, or None when they may."""
    transition = FINDING_TRANSITIONS.get(action)
    if transition is None:
        return f"'{action}' is not a step of a finding; the steps are {', '.join(FINDING_TRANSITIONS)}."
    if finding.status not in transition.source:
        return f"Finding #{finding.pk} is {finding.get_status_display().lower()}: it cannot be asked to {action}."
    if not user.is_authenticated:
        return "Sign in first."
    if action == "remediate":
        if finding.owner_id == user.pk or can_comment(user, finding):
            return None
        return "Only the finding's owner, the model's team or a reviewer marks it remediated."
    if action == "verify":
        if not _is_reviewer(user):
            return "IT operations or a risk reviewer verifies a fix."
        if finding.remediated_by_id == user.pk and not user.is_superuser:
            return "You marked it remediated: someone else verifies the fix (separation of duties)."
        return None
    if action == "accept":
        if not (user.is_superuser or Role.RISK_REVIEWER in user_roles(user)):
            return "Only a risk reviewer accepts a risk."
        if finding.owner_id == user.pk and not user.is_superuser:
            return "You own this finding: a risk reviewer other than its owner accepts the risk."
        return None
    return None if _is_reviewer(user) else "IT operations or a risk reviewer reopens a finding."


def allowed_actions(user, finding: Finding) -> list[FindingTransition]:
    """The steps the finding's page offers ``user``."""
    return [t for key, t in FINDING_TRANSITIONS.items() if refusal(user, finding, key) is None]
