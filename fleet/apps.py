from django.apps import AppConfig

from fleet.choices import AuditAction
from portal.core.audit import register_actions


class FleetConfig(AppConfig):
    name = "fleet"
    verbose_name = "GPU fleet"

    def ready(self) -> None:
        register_actions(AuditAction)
        # Celery's worker signals: connected here, so every worker (embedded, CPU, GPU) reports in.
        from fleet import worker  # noqa: F401, PLC0415 - imports models: only once the registry is ready
