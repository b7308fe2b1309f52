from django.apps import AppConfig

from portal.core.audit import register_actions
from transfers.choices import AuditAction


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = "Resumable uploads"

    def ready(self) -> None:
        register_actions(AuditAction)
