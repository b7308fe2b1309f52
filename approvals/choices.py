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
