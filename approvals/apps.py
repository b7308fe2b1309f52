from django.apps import AppConfig

from approvals.choices import AuditAction
from portal.core.audit import register_actions


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from approvals import receivers  # noqa: PLC0415 - imports models: only once the registry is ready

        register_actions(AuditAction)
        receivers.connect()
