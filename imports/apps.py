from django.apps import AppConfig

from imports.choices import AuditAction
from portal.core.audit import register_actions


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports from MLflow"

    def ready(self) -> None:
        register_actions(AuditAction)
