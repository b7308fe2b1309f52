"""The stored bytes of a version, checked against its digest: by the worker before a job, by a download as it
streams, and weekly by the scrub. A mismatch is recorded on the version, audited and mailed to IT operations;
such a version runs no job, is downloaded by nobody and cannot be promoted until its files are restored."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from portal.core.roles import Role
from portal.core.services import audit_event_record
from registry.choices import AuditAction
from registry.models import ModelVersion

logger = logging.getLogger(__name__)
CHUNK = 4 * 1024 * 1024


def version_integrity_failed(*, version_id: int, reason: str) -> None:
    """Record that a version's stored bytes do not match its digest (once per finding), and tell IT."""
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().select_related("model").get(pk=version_id)
        if version.integrity_error:  # known already: the first finding stands until IT restores the file
            return
        version.integrity_error = reason[:2000]
        version.integrity_checked_at = timezone.now()
        version.save(update_fields=["integrity_error", "integrity_checked_at"])
        audit_event_record(
            actor=None, action=AuditAction.VERSION_INTEGRITY_FAILED, obj=version, after={"reason": reason[:2000]}
        )
        logger.error("integrity: %s: %s", version, reason)
        it = get_user_model().objects.filter(groups__name=Role.IT_OPERATIONS, is_active=True).exclude(email="")
        addresses = sorted(it.values_list("email", flat=True))
        if addresses:
            subject = f"[Gatehouse] {version}: its stored artifact no longer matches its digest"
            body = (
                f"{reason}\n\nThe version runs no job, is served to nobody and cannot be promoted until the file is "
                f"restored from a backup.\n\n{settings.GATEHOUSE_BASE_URL}{version.get_absolute_url()}\n"
            )
            transaction.on_commit(
                lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, addresses, fail_silently=True)
            )


def stored_mismatch(version: ModelVersion) -> str:
    """Re-hash every stored file of the version; the first mismatch in words, or ""."""
    for entry in version.files:
        digest = hashlib.sha256()
        size = 0
        try:
            with default_storage.open(entry["key"], "rb") as fh:
                while chunk := fh.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
        except FileNotFoundError:
            return f"The stored file {entry['path']!r} is missing from artifact storage."
        if digest.hexdigest() != entry["sha256"] or size != entry["size"]:
            return (
                f"The stored file {entry['path']!r} does not match its digest: the manifest says "
                f"{entry['sha256'][:16]}… ({entry['size']:,} bytes), storage holds {digest.hexdigest()[:16]}… "
                f"({size:,} bytes)."
            )
    return ""


def artifacts_scrub(*, limit: int | None = None) -> dict[str, int]:
    """Beat's weekly re-hash of the stored artifacts, the least recently checked first."""
    checked = failed = 0
    versions = ModelVersion.objects.order_by("integrity_checked_at", "pk").only("files", "integrity_error")
    for version in versions[:limit] if limit else versions.iterator(100):
        mismatch = stored_mismatch(version)
        checked += 1
        if mismatch:
            failed += 1
            version_integrity_failed(version_id=version.pk, reason=mismatch)
        else:
            ModelVersion.objects.filter(pk=version.pk).update(integrity_checked_at=timezone.now())
    return {"checked": checked, "failed": failed}
