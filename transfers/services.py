"""Resumable uploads: create, append at an offset, discard, claim for a version, sweep. The bytes go straight
from the request to the part file in chunks (never a whole file in memory); the SHA-256 is computed as they
arrive when one request carries the whole file, and read back from disk once otherwise (hashlib's state
cannot outlive a request)."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from portal.core.errors import ApplicationError
from portal.core.services import audit_event_record
from transfers.choices import AuditAction
from transfers.models import Upload
from transfers.pipeline import writer_for

logger = logging.getLogger(__name__)
CHUNK = 4 * 1024 * 1024  # reading a part file back
READ = 1024 * 1024  # a request body, a read at a time: a few of them wait for the writer (memory stays flat)
CHECKSUMS = ("sha256", "sha1", "md5")  # tus checksum extension: sha1 is the one every server must offer


class Refused(ApplicationError):
    """A refusal with the HTTP status the tus protocol gives it (409 wrong offset, 413 too large, 460 checksum…);
    the API's exception handler (portal.core.api) answers with it."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def upload_create(*, actor: AbstractBaseUser, length: int, filename: str) -> Upload:
    new_upload_check(actor=actor, length=length, filename=filename)
    Path(settings.GATEHOUSE_RESUMABLE_DIR).mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        upload = Upload.objects.create(owner=actor, filename=filename, length=length)
        audit_event_record(
            actor=actor, action=AuditAction.UPLOAD_STARTED, obj=upload, after={"filename": filename, "length": length}
        )
        upload.path.touch(mode=0o640)
        if length == 0:
            _complete(upload, hashlib.sha256())
    return upload


def new_upload_check(*, actor: AbstractBaseUser, length: int, filename: str) -> None:
    """The limits every new upload meets, however its bytes travel."""
    limit = settings.GATEHOUSE_MAX_UPLOAD_MB * 1024 * 1024
    if length > limit:
        raise Refused(
            f"The file is {length / 2**20:,.1f} MB, over the upload limit of {settings.GATEHOUSE_MAX_UPLOAD_MB:,} MB "
            "(GATEHOUSE_MAX_UPLOAD_MB).",
            status=413,
        )
    if filename and any(ord(c) < 32 or ord(c) == 127 for c in filename):
        raise Refused(
            f"The filename {filename[:200]!r} holds a control character (a newline from `base64` of `echo`?): "
            "encode the name alone, e.g. printf %s model.onnx.data | base64 -w0."
        )
    if not filename or len(filename) > 1024:
        raise Refused(
            "Name the file in Upload-Metadata ('filename' and its base64 value): its path in the version, such as "
            "model.onnx or model.onnx.data."
        )
    open_uploads = Upload.objects.filter(owner=actor, completed_at__isnull=True).count()
    if open_uploads >= settings.GATEHOUSE_RESUMABLE_MAX_OPEN:
        raise Refused(
            f"You have {open_uploads} unfinished uploads, the most one person may keep "
            "(GATEHOUSE_RESUMABLE_MAX_OPEN): finish or delete one, or wait for the sweep.",
            status=429,
        )


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: <algorithm> <base64 digest>`` (tus checksum extension)."""
    if not header:
        return None
    algorithm, _, value = header.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise Refused(f"Upload-Checksum names {algorithm!r}; this server checks {', '.join(CHECKSUMS)}.")
    try:
        return algorithm, base64.b64decode(value, validate=True)
    except ValueError:
        raise Refused("Upload-Checksum's digest is not base64.") from None


def upload_append(
    *, upload: Upload, offset: int, stream: IO[bytes], length: int | None, checksum: tuple[str, bytes] | None = None
) -> Upload:
    """Write the request's bytes at ``offset``, which must be where the upload stands. Bytes that arrived before
    a connection broke are kept (the client asks for the offset and goes on), unless a checksum was sent: then
    the part is all or nothing. The last byte completes the upload with its SHA-256."""
    if not upload.path.is_file():
        raise Refused("This upload's bytes are gone from the server (removed by an operator); start again.", 410)
    with open(upload.path, "r+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Refused("Another request is writing to this upload; wait, or ask for the offset.", 409) from None
        upload.refresh_from_db(fields=["offset", "completed_at"])  # as it stands now that the file is ours
        if upload.complete:
            raise Refused("This upload is complete; register the version with it.", status=409)
        if offset != upload.offset:
            raise Refused(
                f"Upload-Offset is {offset:,} but the upload stands at {upload.offset:,}: ask with HEAD and go on "
                "from there.",
                status=409,
            )
        room = upload.length - upload.offset
        if length is not None and length > room:
            raise Refused(f"The body is {length:,} bytes, past the announced Upload-Length by {length - room:,}.", 413)
        part_digest = hashlib.new(checksum[0]) if checksum else None
        whole = hashlib.sha256() if offset == 0 else None  # one request, the whole file: no read back
        received, broken = 0, None
        fh.seek(offset)
        digests = [d for d in (part_digest, whole) if d is not None]
        writer = writer_for(length)
        try:
            try:
                while received < room:
                    chunk = stream.read(min(READ, room - received))
                    if not chunk:
                        break
                    writer.put(fh, digests, chunk)
                    received += len(chunk)
            except Exception as exc:  # the client went away mid-body (a reset, gunicorn's NoMoreData): keep what
                broken = exc  # arrived, as the tus core protocol has it
            writer.drain()
        finally:
            writer.stop()
        if part_digest is not None and (broken or part_digest.digest() != checksum[1]):
            fh.truncate(offset)
            if broken:
                raise Refused("The connection broke before the part was whole; send it again.", status=400)
            raise Refused(f"The part's {checksum[0]} does not match Upload-Checksum; send it again.", status=460)
        fh.flush()
        fh.truncate(offset + received)
        # Still under the lock: the next request reads the offset these bytes reached.
        Upload.objects.filter(pk=upload.pk).update(offset=offset + received, touched_at=timezone.now())
        upload.offset = offset + received
        if upload.offset == upload.length:
            _complete(upload, whole)
    if broken is not None:
        logger.info("upload %s: connection broke at %s bytes (%s)", upload.pk, upload.offset, broken)
    return upload


def _complete(upload: Upload, whole: hashlib._Hash | None) -> None:
    if whole is None:
        whole = hashlib.sha256()
        with open(upload.path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                whole.update(chunk)
    upload.sha256, upload.completed_at = whole.hexdigest(), timezone.now()
    Upload.objects.filter(pk=upload.pk).update(sha256=upload.sha256, completed_at=upload.completed_at)


def upload_discard(*, actor: AbstractBaseUser | None, upload: Upload, reason: str) -> None:
    part = upload.path  # before delete() clears the id it is named by
    with transaction.atomic():
        audit_event_record(
            actor=actor,
            action=AuditAction.UPLOAD_DISCARDED,
            obj=upload,
            before={"filename": upload.filename, "length": upload.length, "offset": upload.offset},
            after={"reason": reason},
        )
        upload.delete()
    part.unlink(missing_ok=True)
    if upload.direct:
        from transfers import direct  # noqa: PLC0415 - boto3 only where a bucket is configured

        direct.remove_object(upload)


def uploads_sweep(*, now: dt.datetime | None = None) -> int:
    """Remove uploads untouched for GATEHOUSE_RESUMABLE_EXPIRE_H (finished but never claimed, too), and part
    files whose row is gone (a crash between the two). Returns how many were removed."""
    cutoff = (now or timezone.now()) - dt.timedelta(hours=settings.GATEHOUSE_RESUMABLE_EXPIRE_H)
    removed = 0
    for upload in Upload.objects.filter(touched_at__lt=cutoff).iterator():
        upload_discard(actor=None, upload=upload, reason=f"untouched for {settings.GATEHOUSE_RESUMABLE_EXPIRE_H} h")
        removed += 1
    folder = Path(settings.GATEHOUSE_RESUMABLE_DIR)
    if folder.is_dir():
        known = {f"{pk}.part" for pk in Upload.objects.values_list("pk", flat=True)}
        for part in folder.glob("*.part"):
            if part.name not in known and part.stat().st_mtime < cutoff.timestamp():
                part.unlink(missing_ok=True)
                removed += 1
    return removed


class ClaimedFile:
    """A finished upload as the registry's upload services take a file: on disk, hashed, with its path."""

    def __init__(self, upload: Upload):
        self.upload = upload
        self.size, self.sha256 = upload.length, upload.sha256
        self.relative_path = upload.filename
        self.name = PurePosixPath(upload.filename).name
        # Sent straight to the bucket: the registry copies the object into place instead of storing bytes.
        self.remote_key = upload.s3_key or None

    def temporary_file_path(self) -> str:
        return str(self.upload.path)

    def open_remote(self):
        from transfers import direct  # noqa: PLC0415 - boto3 only where a bucket is configured

        return direct.open_object(self.upload)


@contextlib.contextmanager
def uploads_claimed(*, actor: AbstractBaseUser, ids: list[str]) -> Iterator[list[ClaimedFile]]:
    """The finished uploads ``ids`` of ``actor``, for the block to register; afterwards, whether it succeeded
    or was refused, they are gone (rows and parts): a claimed upload is used once."""
    ids = [_canonical(i) for i in ids]
    uploads = {str(u.pk): u for u in Upload.objects.filter(owner=actor, pk__in=[i for i in ids if i])}
    missing = [i or "(not an id)" for i in ids if i not in uploads]
    if missing:
        raise ApplicationError(
            f"No upload of yours has the id {missing[0][:64]!r}: it was never made, was used already, or expired "
            f"after {settings.GATEHOUSE_RESUMABLE_EXPIRE_H} h.",
            field="uploads",
        )
    unfinished = [u for u in uploads.values() if not u.complete]
    if unfinished:
        u = unfinished[0]
        raise ApplicationError(
            f"The upload of {u.filename!r} has {u.offset:,} of its {u.length:,} bytes: finish it first.",
            field="uploads",
        )
    try:
        yield [ClaimedFile(uploads[i]) for i in ids]
    finally:
        for upload in uploads.values():
            upload_discard(actor=actor, upload=upload, reason="claimed")


def _canonical(value: object) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return ""
