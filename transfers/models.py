"""A resumable upload (the tus protocol, transfers.tus): one file's bytes arriving in as many requests as the
connection needs, kept on disk beside its row until a version or dataset claims it or the sweep removes it."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models


class Upload(models.Model):
    # A random id: the upload's URL is its capability, beside the owner check (transfers.selectors).
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    filename = models.CharField(
        max_length=1024, help_text="Its path in the version: a data file's location, e.g. weights/model.onnx.data."
    )
    length = models.PositiveBigIntegerField(help_text="Upload-Length: the file's size, announced at creation.")
    offset = models.PositiveBigIntegerField(default=0, help_text="Bytes received and kept so far.")
    sha256 = models.CharField(max_length=64, blank=True, help_text="Computed when the last byte arrives.")
    created_at = models.DateTimeField(auto_now_add=True)
    # The sweep removes uploads untouched for GATEHOUSE_RESUMABLE_EXPIRE_H, finished or not.
    touched_at = models.DateTimeField(auto_now=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Sent straight to the bucket (transfers.direct): the object's key and S3's multipart upload id. The
    # bytes never reach this server; the digest is computed from the stored object when the client completes.
    s3_key = models.CharField(max_length=300, blank=True)
    s3_upload_id = models.CharField(max_length=300, blank=True)
    part_size = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"], name="upload_owner_recent")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.offset}/{self.length})"

    @property
    def path(self) -> Path:
        return Path(settings.GATEHOUSE_RESUMABLE_DIR) / f"{self.id}.part"

    @property
    def direct(self) -> bool:
        return bool(self.s3_key)

    @property
    def complete(self) -> bool:
        return self.completed_at is not None
