"""Django finds the portal app's models here; they live with the code that owns them."""

from portal.core.models import AuditCheckpoint, AuditEvent, Team
from portal.dashboard.models import DebtDay, DebtRollup, DebtSnapshot

__all__ = ["AuditCheckpoint", "AuditEvent", "DebtDay", "DebtRollup", "DebtSnapshot", "Team"]
