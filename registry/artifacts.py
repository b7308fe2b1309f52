"""Files in and out of artifact storage: spooling with hashing, sandboxed inspection, cleanup."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import select
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from portal.errors import ApplicationError
from registry import inspection

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


class _Inspector:
    """Fork servers (registry.inspection.serve) for this process: one per upload in progress, kept for the
    next upload, so threads never wait for each other's files. A server that fails in any way is killed and
    never reused: a late reply can never be read as another file's answer."""

    GRACE_S = 10  # beyond the child's own timeout, for the server to reap it and answer

    def __init__(self):
        self._lock = threading.Lock()
        self._idle: list[subprocess.Popen] = []
        self._ids = itertools.count(1)

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen(  # noqa: S603 - our own module, no shell
            [sys.executable, "-m", "registry.inspection", "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=settings.BASE_DIR, text=True,
            env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                 "PYTHONPATH": str(settings.BASE_DIR), "TMPDIR": tempfile.gettempdir()},
        )

    def _take(self) -> subprocess.Popen:
        with self._lock:
            while self._idle:
                server = self._idle.pop()
                if server.poll() is None:
                    return server
        return self._start()

    def ask(self, request: dict) -> dict:
        request = {**request, "id": next(self._ids)}
        for attempt in (1, 2):
            # An idle server may have died since its last answer: a second try gets a new one.
            server = self._take() if attempt == 1 else self._start()
            try:
                try:
                    server.stdin.write(json.dumps(request) + "\n")
                    server.stdin.flush()
                    ready = select.select([server.stdout], [], [], request["timeout_s"] + self.GRACE_S)[0]
                    line = server.stdout.readline() if ready else None
                except (BrokenPipeError, ConnectionResetError):
                    line = ""
                if line == "" and attempt == 1:
                    raise _ServerGone
                reply = json.loads(line) if line else None
                if not reply or reply.get("id") != request["id"]:
                    raise RuntimeError("the inspection server did not answer")
            except BaseException as exc:
                server.kill()
                server.wait()
                if isinstance(exc, _ServerGone):
                    continue
                raise
            with self._lock:
                self._idle.append(server)
            return reply
        raise AssertionError("unreachable")


class _ServerGone(Exception):
    pass


_inspector = _Inspector()


def inspect_file(kind: str, path: str, *, field: str, label_column: str | None = None) -> dict[str, Any]:
    """Parse ``path`` with registry.inspection in a child process with memory and CPU limits.

    Raises ApplicationError with the child's message when the file is refused.
    """
    reply = _inspector.ask({"kind": kind, "path": str(path), "label": label_column,
                            "memory_mb": settings.GATEHOUSE_INSPECT_MEMORY_MB,
                            "timeout_s": settings.GATEHOUSE_INSPECT_TIMEOUT_S})
    if reply["timed_out"]:
        raise ApplicationError(
            f"The file could not be parsed within {settings.GATEHOUSE_INSPECT_TIMEOUT_S} s.", field=field
        )
    try:
        result = json.loads(reply["answer"])
    except (TypeError, json.JSONDecodeError):
        logger.warning("inspection of %s failed: exit code %s", kind, reply["exit"])
        raise ApplicationError(
            "The file could not be parsed within the limits for uploads "
            f"({settings.GATEHOUSE_INSPECT_MEMORY_MB:,} MB of memory, {settings.GATEHOUSE_INSPECT_TIMEOUT_S} s): "
            "it is too large or malformed.",
            field=field,
        ) from None
    if not result.pop("ok"):
        raise ApplicationError(result["error"], field=field)
    try:
        return inspection.checked(result)
    except inspection.Rejected as exc:
        raise ApplicationError(str(exc), field=field) from None


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
    from django.http import FileResponse

    response = FileResponse(open_stored(key), as_attachment=True, filename=filename)
    response["X-Checksum-SHA256"] = sha256
    return response


def version_download_response(version):
    return _download(version.artifact.name, f"{version.model.name}-v{version.number}.onnx", version.sha256)


def dataset_download_response(dataset):
    return _download(dataset.file.name, f"{dataset.model.name}-{dataset.name}.{dataset.format}", dataset.sha256)
