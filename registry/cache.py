"""The artifact cache on each worker: a node fetches a version's files from storage once, verifies each
against its manifest while it writes it, and runs every later job from the local copy.

Under GATEHOUSE_ARTIFACT_CACHE_DIR, ``sets/<version digest>/`` holds the version's files at their relative
paths (so onnxruntime finds a model's external data beside it) with ``.manifest.json``, written last, saying
the set is complete and verified. Files are addressed by their SHA-256: one another cached version holds
already is copied locally (and verified again) instead of fetched. Copies, never hard links: the ONNX checker
refuses a data file with several links.

A set in use is held with a shared lock; eviction (least recently used, down to GATEHOUSE_ARTIFACT_CACHE_MB)
takes an exclusive one and skips what it cannot take. The worker processes of a node share the cache.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files.storage import default_storage

CHUNK = 4 * 1024 * 1024
MARKER = ".manifest.json"


class CorruptArtifact(ValueError):
    """A stored file's bytes do not match the digest its version was registered with."""

    def __init__(self, path: str, expected: str, actual: str):
        super().__init__(
            f"The stored file {path!r} does not match its digest: the manifest says {expected[:16]}…, the bytes in "
            f"storage hash to {actual[:16]}…. It was changed after it was registered; IT must restore it from a "
            "backup. Nothing ran on it."
        )
        self.path, self.expected, self.actual = path, expected, actual

    @classmethod
    def known(cls, reason: str) -> CorruptArtifact:
        """The version was found corrupt before (a scrub, a download, another worker): say that again."""
        error = cls("", "", "")
        error.args = (f"This version's stored artifact failed its integrity check: {reason}",)
        return error


@dataclass
class Cached:
    model_path: str  # the ONNX file, with its data files beside it
    hit: bool  # every file was already here, verified
    fetched_bytes: int  # read from artifact storage for this job
    seconds: float


def _root() -> Path:
    root = Path(settings.GATEHOUSE_ARTIFACT_CACHE_DIR)
    (root / "sets").mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def _lock(path: Path, mode: int) -> Iterator[bool]:
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, mode)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _sets(root: Path) -> list[Path]:
    return [s for s in (root / "sets").iterdir() if s.is_dir() and (s / MARKER).exists()]


def _local_copy(root: Path, sha256: str) -> Path | None:
    """A verified copy of a file with this digest in another cached set, if there is one."""
    for folder in _sets(root):
        with contextlib.suppress(OSError, ValueError):
            for entry in json.loads((folder / MARKER).read_text()):
                if entry["sha256"] == sha256 and (folder / entry["path"]).is_file():
                    return folder / entry["path"]
    return None


def _copy_verified(source: IO[bytes], target: Path, entry: dict) -> None:
    digest = hashlib.sha256()
    with open(target, "wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != entry["sha256"]:
        raise CorruptArtifact(entry["path"], entry["sha256"], digest.hexdigest())


def _build(root: Path, digest: str, files: list[dict]) -> int:
    """Write the set in a folder of its own, then rename it into place: a reader sees all of it or none."""
    building = root / "sets" / f".{digest}.{os.getpid()}.building"
    shutil.rmtree(building, ignore_errors=True)
    fetched = 0
    try:
        for entry in files:
            target = building / entry["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            local = _local_copy(root, entry["sha256"])
            with open(local, "rb") if local else default_storage.open(entry["key"], "rb") as source:
                _copy_verified(source, target, entry)
            fetched += 0 if local else entry["size"]
        manifest = [{k: f[k] for k in ("path", "size", "sha256")} for f in files]
        (building / MARKER).write_text(json.dumps(manifest))
        os.rename(building, root / "sets" / digest)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return fetched


def _complete(folder: Path, files: list[dict]) -> bool:
    if not (folder / MARKER).exists():
        return False
    for entry in files:
        path = folder / entry["path"]
        if not path.is_file() or path.is_symlink() or path.stat().st_size != entry["size"]:
            return False
    return True


@contextlib.contextmanager
def version_files(version) -> Iterator[Cached]:
    """The version's files on this node, verified, for the block (held against eviction meanwhile)."""
    began = time.perf_counter()
    root = _root()
    folder = root / "sets" / version.sha256
    fetched, hit = 0, True
    with _lock(root / ".lock", fcntl.LOCK_EX):
        if not _complete(folder, version.files):
            hit = False
            shutil.rmtree(folder, ignore_errors=True)
            fetched = _build(root, version.sha256, version.files)
        os.utime(folder / MARKER)  # the least recently used set is evicted first
    with _lock(folder / MARKER, fcntl.LOCK_SH):
        evict(keep=version.sha256)
        model = next(f for f in version.files if f["key"] == version.artifact.name)
        yield Cached(str(folder / model["path"]), hit, fetched, time.perf_counter() - began)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.name != MARKER)


def evict(*, keep: str | None = None) -> list[str]:
    """Remove the least recently used sets until the cache fits GATEHOUSE_ARTIFACT_CACHE_MB; a set a job on
    this node holds is skipped."""
    root = _root()
    limit = settings.GATEHOUSE_ARTIFACT_CACHE_MB * 1024 * 1024
    removed: list[str] = []
    with _lock(root / ".lock", fcntl.LOCK_EX):
        sizes = {folder: _size(folder) for folder in _sets(root)}
        usage = sum(sizes.values())
        for folder in sorted(sizes, key=lambda f: (f / MARKER).stat().st_mtime):
            if usage <= limit:
                break
            if folder.name == keep:
                continue
            with _lock(folder / MARKER, fcntl.LOCK_EX | fcntl.LOCK_NB) as free:
                if free:
                    shutil.rmtree(folder, ignore_errors=True)
                    usage -= sizes[folder]
                    removed.append(folder.name)
    return removed
