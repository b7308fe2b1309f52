"""Files into artifact storage: spooling with hashing, storing, cleanup; reading them back (downloads are
registry.downloads)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from portal.core.errors import ApplicationError
from registry.manifests import ManifestFile, ordered, safe_path, version_digest

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
    # Already in the bucket (a direct upload): stored by a copy inside it; ``path`` is only a stand-in.
    remote_key: str | None = None

    def cleanup(self) -> None:
        if self._owned:
            Path(self.path).unlink(missing_ok=True)


def _too_large(size: int | None) -> str:
    limit = f"the upload limit of {settings.GATEHOUSE_MAX_UPLOAD_MB:,} MB (GATEHOUSE_MAX_UPLOAD_MB)"
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
    if getattr(fileobj, "remote_key", None):
        return _spool_remote(fileobj, name, field=field)
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


def _spool_remote(fileobj: Any, name: str, *, field: str) -> SpooledFile:
    """A file uploaded straight to the bucket, its digest computed there. The graph is copied here for the
    sandbox to read (and checked against that digest again); a data file is stood in for by a sparse file of
    its size, since inspection reads its size and never its bytes."""
    with tempfile.NamedTemporaryFile(
        prefix="gatehouse-", suffix=".upload", delete=False, dir=settings.FILE_UPLOAD_TEMP_DIR
    ) as handle:
        try:
            if field == "data":
                handle.truncate(fileobj.size)
            else:
                digest, body = hashlib.sha256(), fileobj.open_remote()
                while chunk := body.read(CHUNK * 4):
                    digest.update(chunk)
                    handle.write(chunk)
                if digest.hexdigest() != fileobj.sha256:
                    raise ApplicationError(
                        f"{name!r} changed in the bucket after its upload was completed; upload it again.", field=field
                    )
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
    return SpooledFile(handle.name, fileobj.sha256, fileobj.size, name, _owned=True, remote_key=fileobj.remote_key)


class _MovableFile(File):
    """A spooled file storage may move into place: a folder storage on the same file system renames it
    (file_move_safe) instead of copying every byte a second time."""

    def __init__(self, file, name: str, path: str):
        super().__init__(file, name=name)
        self._path = path

    def temporary_file_path(self) -> str:
        return self._path


def storage_save(key: str, spooled: SpooledFile) -> str:
    """Save into artifact storage under ``key``; returns the key actually used. A spooled copy of our own is
    moved where the storage allows it; one Django still owns (an upload's temporary file) is copied; one
    already in the bucket is copied inside it."""
    if spooled.remote_key:
        from transfers.direct import copy_object  # noqa: PLC0415 - boto3 only where a bucket is configured

        if default_storage.exists(key):
            raise ApplicationError(f"Storage already holds {key!r}; try the upload again.")
        copy_object(spooled.remote_key, key)
        return key
    with open(spooled.path, "rb") as fh:
        content = (
            _MovableFile(fh, spooled.original_name, spooled.path)
            if spooled._owned
            else File(fh, name=spooled.original_name)
        )
        return default_storage.save(key, content)


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


class IncomingSet:
    """A version's files on their way into storage: the ONNX file and its external data files, spooled and
    hashed, laid out at their relative paths in a folder of their own for the inspection child."""

    def __init__(self, model: SpooledFile, data: dict[str, SpooledFile]):
        self.model_path = model.original_name
        self.files = {self.model_path: model, **data}
        self.folder = tempfile.mkdtemp(prefix="gatehouse-set-", dir=settings.FILE_UPLOAD_TEMP_DIR)
        for path, spooled in self.files.items():
            target = Path(self.folder, path)
            target.parent.mkdir(parents=True, exist_ok=True)
            # Moved, not linked (the ONNX checker refuses a data file with several links) and not copied: the
            # spooled copy and the folder are on one file system, so no byte is written twice. (Django's
            # temporary upload tolerates its file having been moved.)
            try:
                os.replace(spooled.path, target)
            except OSError:
                shutil.copyfile(spooled.path, target)
            spooled.path, spooled._owned = str(target), True
        self.manifest: list[ManifestFile] = ordered(
            {"path": path, "size": f.size, "sha256": f.sha256} for path, f in self.files.items()
        )
        self.sha256 = version_digest(self.manifest)
        self.size = sum(f.size for f in self.files.values())
        self.keys: list[str] = []

    @property
    def path(self) -> str:
        return str(Path(self.folder, self.model_path))

    @property
    def data_sizes(self) -> dict[str, int] | None:
        return {p: f.size for p, f in self.files.items() if p != self.model_path} if len(self.files) > 1 else None

    def store(self, prefix: str, single_key: str) -> tuple[str, list[dict]]:
        """Store every file; returns the ONNX file's key and the manifest with each file's key. One file keeps
        the key scheme versions always had; a set goes in a folder of its own, at the paths its tensors name."""
        manifest = []
        for entry in self.manifest:
            wanted = single_key if len(self.files) == 1 else f"{prefix}/{entry['path']}"
            key = storage_save(wanted, self.files[entry["path"]])
            self.keys.append(key)
            if len(self.files) > 1 and key != wanted:  # the runtime finds data files beside the model by name
                raise ApplicationError(f"Storage renamed {entry['path']!r} on saving it; try the upload again.")
            manifest.append({**entry, "key": key})
        return next(m["key"] for m in manifest if m["path"] == self.model_path), manifest

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        for spooled in self.files.values():
            spooled.cleanup()


def _data_path(fileobj: Any) -> str:
    """A data file's path in the set: its location (relative paths come through the API's streaming parser)."""
    return getattr(fileobj, "relative_path", None) or Path(getattr(fileobj, "name", "") or "").name


def _spool_set(artifact: Any, data: list[Any], *, field: str) -> IncomingSet:
    """Spool the model and its data files, refusing too many, duplicates and a set over its size limit; what
    was spooled before a refusal is removed."""
    if len(data) + 1 > settings.GATEHOUSE_ARTIFACT_MAX_FILES:
        raise ApplicationError(
            f"A version may have at most {settings.GATEHOUSE_ARTIFACT_MAX_FILES} files "
            f"(GATEHOUSE_ARTIFACT_MAX_FILES); this upload has {len(data) + 1}.",
            field="data",
        )
    spooled: list[SpooledFile] = []
    try:
        model = spool(artifact, field=field)
        spooled.append(model)
        files: dict[str, SpooledFile] = {}
        for fileobj in data:
            name = _data_path(fileobj)
            if name and not safe_path(name):
                raise ApplicationError(
                    f"A data file is named {name[:200]!r}: a location is a relative path inside the model's folder "
                    "(no absolute path, no '..').",
                    field="data",
                )
            if not name or name == model.original_name or name in files:
                raise ApplicationError(
                    f"Two files of the upload are named {name or '(no name)'!r}: each data file is named by the "
                    "location its tensors give, once.",
                    field="data",
                )
            files[name] = spool(fileobj, field="data")
            spooled.append(files[name])
        total = sum(f.size for f in spooled)
        if total > settings.GATEHOUSE_ARTIFACT_MAX_MB * 1024 * 1024:
            raise ApplicationError(
                f"The files come to {total / 2**20:,.0f} MB, over the {settings.GATEHOUSE_ARTIFACT_MAX_MB:,} MB a "
                "version may hold (GATEHOUSE_ARTIFACT_MAX_MB).",
                field="data",
            )
        return IncomingSet(model, files)
    except BaseException:
        for f in spooled:
            f.cleanup()
        raise


@contextlib.contextmanager
def incoming_set(artifact: Any, data: list[Any] | None = None, *, field: str) -> Iterator[IncomingSet]:
    """``incoming`` for a version: the ONNX file and its data files. A refusal anywhere in the block leaves no
    stored file and no temporary one."""
    upload = _spool_set(artifact, list(data or []), field=field)
    try:
        yield upload
    except BaseException:
        for key in upload.keys:
            storage_delete_quietly(key)
        raise
    finally:
        upload.cleanup()


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
