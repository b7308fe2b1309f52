from django.db import models


class AuditAction(models.TextChoices):
    WORKER_JOINED = "fleet.worker.joined", "Worker joined the fleet"
