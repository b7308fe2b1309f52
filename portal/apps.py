from django.apps import AppConfig

from portal.celery import ensure_broker_folders
from portal.core.audit import register_actions
from portal.core.choices import AuditAction
from portal.dashboard.choices import AuditAction as DashboardAuditAction


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Gatehouse portal"

    def ready(self) -> None:
        register_actions(AuditAction)
        register_actions(DashboardAuditAction)
        ensure_broker_folders()
