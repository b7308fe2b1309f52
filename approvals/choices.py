from django.db import models


class Action(models.TextChoices):
    PROMOTE = "promote", "Promote"
    RETIRE = "retire", "Retire"
    ROLLBACK = "rollback", "Roll back"


class RequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    APPROVED = "approved", "Waiting for evidence"  # every approval needed is in; evidence is missing
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    APPLIED = "applied", "Applied"


class DecisionKind(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


# A request is open until it is applied, rejected or withdrawn (APPROVED: every approval is in, evidence is not).
OPEN_STATUSES = (RequestStatus.OPEN, RequestStatus.APPROVED)
# The outcomes a decision reached (the approval wait is measured to them; a withdrawal decided nothing).
CLOSED_WITH_OUTCOME = (RequestStatus.APPLIED, RequestStatus.REJECTED)


class AuditAction(models.TextChoices):
    """What the workflow records in the audit log (portal.core.audit)."""

    REQUEST_OPENED = "approvals.request.opened", "Promotion requested"
    REQUEST_APPROVED = "approvals.request.approved", "Request approved"
    REQUEST_REJECTED = "approvals.request.rejected", "Request rejected"
    REQUEST_WITHDRAWN = "approvals.request.withdrawn", "Request withdrawn"
    REQUEST_APPLIED = "approvals.request.applied", "Request applied"
    ATTESTATION_ISSUED = "approvals.attestation.issued", "Attestation signed"
    # Named in the registry's vocabulary: the version is the object that changed (kept for the log's history).
    VERSION_STAGE_CHANGED = "registry.version.stage_changed", "Version changed stage"
    POLICY_UPDATED = "approvals.policy.updated", "Policy changed"
    POLICY_CREATED = "approvals.policy.created", "Policy created"
    FINDING_OPENED = "approvals.finding.opened", "Finding opened"
    FINDING_UPDATED = "approvals.finding.updated", "Finding edited"
    FINDING_STATUS_CHANGED = "approvals.finding.status_changed", "Finding changed status"
    FINDING_COMMENTED = "approvals.finding.commented", "Finding commented"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


# Most severe first: lists and e-mails order by it.
SEVERITY_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1}


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    REMEDIATED = "remediated", "Remediated (to verify)"
    VERIFIED = "verified", "Verified"
    ACCEPTED = "accepted", "Accepted risk"


class FindingAction(models.TextChoices):
    """The steps of a finding's state table (approvals.finding_rules.FINDING_TRANSITIONS)."""

    REMEDIATE = "remediate", "Mark remediated"
    VERIFY = "verify", "Verify the fix"
    ACCEPT = "accept", "Accept the risk"
    REOPEN = "reopen", "Reopen"


# A finding is resolved once a reviewer verified the fix or accepted the risk; until then it can block a release.
UNRESOLVED = (FindingStatus.OPEN, FindingStatus.REMEDIATED)
RESOLVED = (FindingStatus.VERIFIED, FindingStatus.ACCEPTED)
