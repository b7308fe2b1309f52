from __future__ import annotations

import base64
import datetime as dt

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone

from transfers.models import Upload
from transfers.services import Refused


def upload_get(*, actor: AbstractBaseUser, pk) -> Upload:
    """One of ``actor``'s uploads; anyone else's reads as missing. One past its expiry is gone (410)."""
    upload = Upload.objects.filter(pk=pk, owner=actor).first()
    if upload is None:
        raise Refused("No upload of yours has this id: it was never made, was used already or expired.", 404)
    if upload.touched_at < timezone.now() - dt.timedelta(hours=settings.GATEHOUSE_RESUMABLE_EXPIRE_H):
        hours = settings.GATEHOUSE_RESUMABLE_EXPIRE_H
        raise Refused(
            f"This upload expired after {hours} h untouched (GATEHOUSE_RESUMABLE_EXPIRE_H); start again.", 410
        )
    return upload


def parse_metadata(header: str) -> dict[str, str]:
    """Upload-Metadata: comma-separated ``key base64value`` pairs (a key alone has an empty value)."""
    metadata = {}
    for pair in header.split(","):
        key, _, value = pair.strip().partition(" ")
        if not key:
            continue
        try:
            metadata[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except ValueError:
            raise Refused(f"Upload-Metadata's value for {key[:40]!r} is not base64 of UTF-8 text.") from None
    return metadata
