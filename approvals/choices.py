from django.db import models


class Action(models.TextChoices):
    PROMOTE = "promote", "Promote"
    RETIRE = "retire", "Retire"
    ROLLBACK = "rollback", "Roll back"


class RequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    APPROVED = "approved", "Approved"  # every approval is in; waiting only for evidence
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    APPLIED = "applied", "Applied"


class DecisionKind(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
