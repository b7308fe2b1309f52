from django.apps import AppConfig

from portal.celery import ensure_broker_folders
from portal.core import orm
from portal.core.audit import register_actions
from portal.core.choices import AuditAction
from portal.dashboard.choices import AuditAction as DashboardAuditAction


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Gatehouse portal"

    def ready(self) -> None:
        from portal.core import checks, receivers  # noqa: PLC0415 - imports models: only once the registry is ready
        from portal.dashboard import receivers as dashboard_receivers  # noqa: PLC0415

        orm.install()
        register_actions(AuditAction)
        receivers.connect()
        checks.register()
        dashboard_receivers.connect()
        register_actions(DashboardAuditAction)
        ensure_broker_folders()
