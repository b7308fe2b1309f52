from django.db import models


class AuditAction(models.TextChoices):
    """What the dashboard records in the audit log (portal.core.audit)."""

    DEBT_BACKFILLED = "portal.debt.backfilled", "Debt history rebuilt"
