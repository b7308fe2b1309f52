"""Uploads straight to the bucket: S3 multipart uploads with presigned part URLs, so a model's bytes never
cross a web worker. The server starts the multipart upload, signs a URL per part, completes it when the
client says it is done, and then reads the stored object back to compute its SHA-256: the version that
claims it is accepted on that digest, never on the client's word. Only with S3 storage (GATEHOUSE_S3_BUCKET)."""

from __future__ import annotations

import hashlib
import math

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from portal.core.services import audit_event_record
from transfers.choices import AuditAction
from transfers.models import Upload
from transfers.services import Refused, new_upload_check

MIN_PART = 5 * 1024 * 1024  # S3's smallest part (all but the last)
MAX_PARTS = 10_000
READ = 4 * 1024 * 1024


def available() -> bool:
    return hasattr(default_storage, "bucket_name") and hasattr(default_storage, "connection")


def _client():
    return default_storage.connection.meta.client


def _bucket() -> str:
    return default_storage.bucket_name


def _require() -> None:
    if not available():
        raise Refused(
            "Direct uploads go to an S3 bucket, and this server stores artifacts on its own disk (set "
            "GATEHOUSE_S3_BUCKET); use the resumable upload at /api/v1/uploads/ instead.",
            status=409,
        )


def part_urls(upload: Upload) -> list[dict]:
    """A presigned PUT per part, valid for GATEHOUSE_RESUMABLE_EXPIRE_H."""
    count = max(1, math.ceil(upload.length / upload.part_size))
    client, expires = _client(), settings.GATEHOUSE_RESUMABLE_EXPIRE_H * 3600
    return [
        {
            "number": n,
            "offset": (n - 1) * upload.part_size,
            "length": min(upload.part_size, upload.length - (n - 1) * upload.part_size),
            "url": client.generate_presigned_url(
                "upload_part",
                Params={"Bucket": _bucket(), "Key": upload.s3_key, "UploadId": upload.s3_upload_id, "PartNumber": n},
                ExpiresIn=expires,
            ),
        }
        for n in range(1, count + 1)
    ]


def direct_upload_create(*, actor: AbstractBaseUser, length: int, filename: str) -> Upload:
    _require()
    new_upload_check(actor=actor, length=length, filename=filename)
    if length == 0:
        raise Refused("An empty file has nothing to send to the bucket; use /api/v1/uploads/ for it.")
    part_size = max(MIN_PART, settings.GATEHOUSE_S3_PART_MB * 1024 * 1024, math.ceil(length / MAX_PARTS))
    with transaction.atomic():
        upload = Upload.objects.create(owner=actor, filename=filename, length=length, part_size=part_size)
        upload.s3_key = f"incoming/{upload.pk}"
        try:
            started = _client().create_multipart_upload(Bucket=_bucket(), Key=upload.s3_key)
        except (BotoCoreError, ClientError) as exc:
            raise Refused(f"The bucket refused to start the upload: {exc}", status=502) from None
        upload.s3_upload_id = started["UploadId"]
        upload.save(update_fields=["s3_key", "s3_upload_id"])
        audit_event_record(
            actor=actor,
            action=AuditAction.UPLOAD_STARTED,
            obj=upload,
            after={"filename": filename, "length": length, "direct": True},
        )
    return upload


def direct_upload_complete(*, upload: Upload, parts: list[dict]) -> Upload:
    """Join the parts the client sent (their numbers and ETags), then read the object back: its size must be
    the announced one, and its SHA-256, computed here, is the upload's digest."""
    if not upload.direct:
        raise Refused("This upload's bytes come through /api/v1/uploads/; there is nothing to complete.", 409)
    if upload.complete:
        return upload
    try:
        listed = [{"PartNumber": int(p["number"]), "ETag": str(p["etag"])} for p in parts]
    except (KeyError, TypeError, ValueError):
        raise Refused('Give the parts as [{"number": 1, "etag": "..."}, …], as the bucket answered each PUT.') from None
    client = _client()
    try:
        client.complete_multipart_upload(
            Bucket=_bucket(),
            Key=upload.s3_key,
            UploadId=upload.s3_upload_id,
            MultipartUpload={"Parts": sorted(listed, key=lambda p: p["PartNumber"])},
        )
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        raise Refused(
            f"The bucket could not join the parts: {message}. Send the missing parts, then complete."
        ) from None
    stored = client.head_object(Bucket=_bucket(), Key=upload.s3_key)["ContentLength"]
    if stored != upload.length:
        client.delete_object(Bucket=_bucket(), Key=upload.s3_key)
        raise Refused(f"The stored object has {stored:,} bytes, not the {upload.length:,} announced; start again.")
    digest = hashlib.sha256()
    body = client.get_object(Bucket=_bucket(), Key=upload.s3_key)["Body"]
    while chunk := body.read(READ):
        digest.update(chunk)
    upload.offset, upload.sha256, upload.completed_at = upload.length, digest.hexdigest(), timezone.now()
    upload.save(update_fields=["offset", "sha256", "completed_at", "touched_at"])
    return upload


def open_object(upload: Upload):
    """The stored object as a file to read (the registry copies the graph to inspect it)."""
    return _client().get_object(Bucket=_bucket(), Key=upload.s3_key)["Body"]


def copy_object(source_key: str, key: str) -> None:
    """A server-side copy inside the bucket (multipart for objects over 5 GB): no byte leaves the store."""
    default_storage.bucket.copy({"Bucket": _bucket(), "Key": source_key}, key)


def remove_object(upload: Upload) -> None:
    """Abort an unfinished multipart upload (S3 keeps its parts otherwise) and delete a finished object."""
    client = _client()
    try:
        if upload.s3_upload_id and not upload.completed_at:
            client.abort_multipart_upload(Bucket=_bucket(), Key=upload.s3_key, UploadId=upload.s3_upload_id)
        client.delete_object(Bucket=_bucket(), Key=upload.s3_key)
    except (BotoCoreError, ClientError):  # already gone, or the store is down: the sweep's next pass tries again
        pass
