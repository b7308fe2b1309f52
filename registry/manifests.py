"""A version's files and its digest. Imports nothing from Django (workers and the signing tools use it).

A version is one ONNX file, or an ONNX model with the external data files its tensors name. Its manifest
lists each file's relative path, size and SHA-256. Its digest is:

- for one file, the file's SHA-256, as for every version stored before sets existed;
- for a set, the root digest the OpenSSF model-signing project (``model-signing`` on PyPI, file
  serialization, SHA-256) computes for the same files: the SHA-256 over the files' raw SHA-256 digests,
  in the order of their paths compared part by part (``pathlib.PurePosixPath``'s order). A signature made
  with that standard over the model's folder therefore names exactly this digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import TypedDict


class ManifestFile(TypedDict):
    path: str
    size: int
    sha256: str


def safe_path(path: str) -> bool:
    """A relative path inside the model's folder: no absolute path, no '..', '.' or empty part, no backslash
    or control character, at most 255 characters a part."""
    parts = path.split("/")
    return (
        bool(path)
        and not path.startswith("/")
        and "\\" not in path
        and not any(ord(c) < 32 or ord(c) == 127 for c in path)  # NUL, newlines, escapes
        and all(part not in ("", ".", "..") and len(part) <= 255 for part in parts)
    )


def ordered(files: Iterable[ManifestFile]) -> list[ManifestFile]:
    """The files in model-signing's order: by path, part by part ("a/b" before "a.b")."""
    return sorted(files, key=lambda f: PurePosixPath(f["path"]).parts)


def root_digest(files: Iterable[ManifestFile]) -> str:
    hasher = hashlib.sha256()
    for entry in ordered(files):
        hasher.update(bytes.fromhex(entry["sha256"]))
    return hasher.hexdigest()


def version_digest(files: list[ManifestFile]) -> str:
    """One file: its SHA-256. A set: the model-signing root digest."""
    if len(files) == 1:
        return files[0]["sha256"]
    return root_digest(files)
