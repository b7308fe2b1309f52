from django.db import models


class AuditObjectType(models.TextChoices):
    """Object types that appear in the audit log (``app_label.model``)."""

    TEAM = "portal.team", "Team"
    USER = "auth.user", "User"
    MODEL = "registry.registeredmodel", "Model"
    VERSION = "registry.modelversion", "Version"
    DATASET = "registry.dataset", "Dataset"
