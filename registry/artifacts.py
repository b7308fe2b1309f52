"""Files in and out of artifact storage: spooling with hashing, storing, cleanup, downloads."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.http import FileResponse

from portal.core.errors import ApplicationError

logger = logging.getLogger(__name__)
CHUNK = 1024 * 1024


@dataclass
class SpooledFile:
    """A local copy of an incoming file, with its digest and size computed while it was written."""

    path: str
    sha256: str
    size: int
    original_name: str
    _owned: bool = False  # True when we made the temporary copy and must remove it

    def cleanup(self) -> None:
        if self._owned:
            Path(self.path).unlink(missing_ok=True)


def _too_large(size: int | None) -> str:
    limit = f"the upload limit of {settings.GATEHOUSE_MAX_UPLOAD_MB:,} MB"
    if size:
        return f"The file is {size / 1024 / 1024:,.1f} MB, over {limit}."
    return f"The file is larger than {limit}."


def spool(fileobj: Any, *, field: str) -> SpooledFile:
    """Turn an upload (or any file object) into a hashed local file, within the upload size limit.

    Files that came through ``HashingUploadHandler`` are already on disk and hashed; anything else (a
    command, a test) is copied chunk by chunk while it is hashed.
    """
    limit = settings.GATEHOUSE_MAX_UPLOAD_MB * 1024 * 1024
    name = Path(getattr(fileobj, "name", "") or "upload").name
    if getattr(fileobj, "too_large", False) or (getattr(fileobj, "size", 0) or 0) > limit:
        raise ApplicationError(_too_large(fileobj.size), field=field)
    if hasattr(fileobj, "temporary_file_path") and getattr(fileobj, "sha256", None):
        return SpooledFile(fileobj.temporary_file_path(), fileobj.sha256, fileobj.size, name)

    digest = hashlib.sha256()
    size = 0
    with tempfile.NamedTemporaryFile(
        prefix="gatehouse-", suffix=".upload", delete=False, dir=settings.FILE_UPLOAD_TEMP_DIR
    ) as handle:
        try:
            if hasattr(fileobj, "seek"):
                fileobj.seek(0)
            while chunk := fileobj.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ApplicationError(_too_large(None), field=field)
                digest.update(chunk)
                handle.write(chunk)
        except BaseException:
            handle.close()
            Path(handle.name).unlink(missing_ok=True)
            raise
    return SpooledFile(handle.name, digest.hexdigest(), size, name, _owned=True)


def storage_save(key: str, spooled: SpooledFile) -> str:
    """Save into artifact storage under ``key``; returns the key actually used."""
    with open(spooled.path, "rb") as fh:
        return default_storage.save(key, File(fh, name=spooled.original_name))


def storage_delete_quietly(key: str | None) -> None:
    if not key:
        return
    try:
        default_storage.delete(key)
    except Exception:  # the original error matters more than a failed cleanup
        logger.exception("could not remove %s from artifact storage", key)


class Incoming:
    """An upload on its way into storage (``incoming``): its spooled copy, and the key it was stored under."""

    def __init__(self, spooled: SpooledFile):
        self.spooled = spooled
        self.path, self.sha256, self.size = spooled.path, spooled.sha256, spooled.size
        self.key: str | None = None

    def store(self, key: str) -> str:
        self.key = storage_save(key, self.spooled)
        return self.key


@contextlib.contextmanager
def incoming(fileobj: Any, *, field: str) -> Iterator[Incoming]:
    """Spool and hash an upload for the block; if anything in it fails, what it stored is removed again, and
    the temporary copy always is: a refusal leaves no row and no file."""
    upload = Incoming(spool(fileobj, field=field))
    try:
        yield upload
    except BaseException:
        storage_delete_quietly(upload.key)
        raise
    finally:
        upload.spooled.cleanup()


def open_stored(key: str) -> IO[bytes]:
    return default_storage.open(key, "rb")


@contextlib.contextmanager
def local_path(key: str):
    """A local file path for a stored object: the file itself on a folder storage, else a temporary copy."""
    try:
        path = default_storage.path(key)
    except NotImplementedError:  # object storage: no local path
        path = None
    if path is not None:
        yield path
        return
    suffix = Path(key).suffix
    with tempfile.NamedTemporaryFile(suffix=suffix, dir=settings.FILE_UPLOAD_TEMP_DIR) as copy:
        with default_storage.open(key, "rb") as source:
            while chunk := source.read(CHUNK):
                copy.write(chunk)
        copy.flush()
        yield copy.name


def _download(key: str, filename: str, sha256: str):
    response = FileResponse(open_stored(key), as_attachment=True, filename=filename)
    response["X-Checksum-SHA256"] = sha256
    return response


def version_download_response(version):
    return _download(version.artifact.name, f"{version.model.name}-v{version.number}.onnx", version.sha256)


def dataset_download_response(dataset):
    return _download(dataset.file.name, f"{dataset.model.name}-{dataset.name}.{dataset.format}", dataset.sha256)
