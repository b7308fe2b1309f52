from django.apps import AppConfig

from portal.core.audit import register_actions
from registry.choices import AuditAction


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Model registry"

    def ready(self) -> None:
        register_actions(AuditAction)
