"""The web process's side of the sandbox: fork servers (registry.inspection) that parse untrusted files in
children under memory and CPU limits, and the refusals they answer, as ApplicationErrors on the field."""

from __future__ import annotations

import itertools
import json
import logging
import select
import subprocess
import sys
import tempfile
import threading
from typing import Any

from django.conf import settings

from portal.core.errors import ApplicationError
from registry import inspection

logger = logging.getLogger(__name__)


class _Inspector:
    """Fork servers (registry.inspection.sandbox.serve) for this process: one per upload in progress, kept for the
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
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=settings.BASE_DIR,
            text=True,
            env={
                "PATH": "/usr/bin:/bin",
                "OMP_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1",
                "PYTHONPATH": str(settings.BASE_DIR),
                "TMPDIR": tempfile.gettempdir(),
            },
        )

    def warm(self) -> None:
        """Start a server now, so the first upload does not wait for Python and onnx to import (about 1.7 s)."""
        server = self._start()
        with self._lock:
            self._idle.append(server)

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
warm = _inspector.warm


def inspect_file(
    kind: str, path: str, *, field: str, label_column: str | None = None, data_files: dict[str, int] | None = None
) -> dict[str, Any]:
    """Parse ``path`` with registry.inspection in a child process with memory and CPU limits.

    Raises ApplicationError with the child's message when the file is refused.
    """
    reply = _inspector.ask(
        {
            "kind": kind,
            "path": str(path),
            "label": label_column,
            "files": data_files,
            "limits": {
                "max_columns": settings.GATEHOUSE_DATASET_MAX_COLUMNS,
                "max_column_name": settings.GATEHOUSE_DATASET_MAX_COLUMN_NAME,
            },
            "memory_mb": settings.GATEHOUSE_INSPECT_MEMORY_MB,
            "timeout_s": settings.GATEHOUSE_INSPECT_TIMEOUT_S,
        }
    )
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
        raise ApplicationError(result["error"], field=result.get("field") or field)
    try:
        return inspection.checked(result)
    except inspection.Rejected as exc:
        raise ApplicationError(str(exc), field=field) from None
