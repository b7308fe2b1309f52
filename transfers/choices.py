from django.db import models


class AuditAction(models.TextChoices):
    UPLOAD_STARTED = "transfers.upload.started", "Resumable upload started"
    UPLOAD_DISCARDED = "transfers.upload.discarded", "Resumable upload discarded"
