"""Downloads of versions and datasets: one file, or a set as a tar with its manifest, hashed as it streams
and stopped rather than served when the bytes do not match the digest in the header."""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

from django.http import FileResponse, Http404, StreamingHttpResponse

from portal.core.errors import Conflict
from registry.artifacts import CHUNK, open_stored


def _download(key: str, filename: str, sha256: str):
    response = FileResponse(open_stored(key), as_attachment=True, filename=filename)
    response["X-Checksum-SHA256"] = sha256
    return response


class DigestMismatch(Exception):
    """A stored file's bytes were not the registered ones: the download stops before its last bytes."""


def _verified_chunks(entry: dict, on_mismatch) -> Iterator[bytes]:
    """The stored file in chunks, hashed as they go; the last chunk is held back until the digest is known, so
    a client never receives a whole file that differs from the digest its header promised."""
    digest = hashlib.sha256()
    held = b""
    with open_stored(entry["key"]) as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            if held:
                yield held
            held = chunk
    if digest.hexdigest() != entry["sha256"]:
        on_mismatch(
            f"The stored file {entry['path']!r} does not match its digest: the manifest says "
            f"{entry['sha256'][:16]}…, storage holds {digest.hexdigest()[:16]}… (found while it was downloaded)."
        )
        raise DigestMismatch(entry["path"])
    if held:
        yield held


def _tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _padding(size: int) -> bytes:
    return b"\0" * (-size % tarfile.BLOCKSIZE)


def _tar_stream(version, manifest: bytes, on_mismatch) -> tuple[Iterator[bytes], int]:
    """The version's files as one uncompressed tar (manifest.json first), streamed, with its exact length."""
    members = [("manifest.json", len(manifest))] + [(f["path"], f["size"]) for f in version.files]
    length = sum(len(_tar_header(n, size)) + size + len(_padding(size)) for n, size in members) + 2 * 512

    def stream() -> Iterator[bytes]:
        yield _tar_header("manifest.json", len(manifest)) + manifest + _padding(len(manifest))
        for entry in version.files:
            yield _tar_header(entry["path"], entry["size"])
            yield from _verified_chunks(entry, on_mismatch)
            yield _padding(entry["size"])
        yield b"\0" * 1024

    return stream(), length


def version_download_response(version, path: str | None = None, *, on_mismatch=lambda reason: None):
    """One file of the version (``path``; the ONNX file by default for a single file), or a set as a tar stream
    with its manifest. Every byte is checked against the manifest on its way out."""
    if version.integrity_error:
        raise Conflict(
            f"{version} is withheld: its stored artifact failed its integrity check. {version.integrity_error}"
        )
    if path is None and version.is_set:
        manifest = json.dumps(
            {
                "model": version.model.name,
                "version": version.number,
                "digest": version.sha256,
                "digest_method": "model-signing root digest over the files (SHA-256)",
                "files": [{k: f[k] for k in ("path", "size", "sha256")} for f in version.files],
            },
            indent=1,
        ).encode()
        chunks, length = _tar_stream(version, manifest, on_mismatch)
        response = StreamingHttpResponse(chunks, content_type="application/x-tar")
        response["Content-Length"] = str(length)
        response["Content-Disposition"] = f'attachment; filename="{version.model.name}-v{version.number}.tar"'
        response["X-Gatehouse-Digest"] = version.sha256
        return response
    entry = version.model_file if path is None else next((f for f in version.files if f["path"] == path), None)
    if entry is None:
        raise Http404(f"{version} has no file {path!r}; its files are {', '.join(f['path'] for f in version.files)}.")
    filename = f"{version.model.name}-v{version.number}.onnx" if not version.is_set and path is None else entry["path"]
    response = StreamingHttpResponse(_verified_chunks(entry, on_mismatch), content_type="application/octet-stream")
    response["Content-Length"] = str(entry["size"])
    response["Content-Disposition"] = f'attachment; filename="{Path(filename).name}"'
    response["X-Checksum-SHA256"] = entry["sha256"]
    if version.is_set:
        response["X-Gatehouse-Digest"] = version.sha256
    return response


def dataset_download_response(dataset):
    return _download(dataset.file.name, f"{dataset.model.name}-{dataset.name}.{dataset.format}", dataset.sha256)
