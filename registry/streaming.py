"""A multipart parser for the API's uploads that keeps up with the disk: python-multipart's state machine
(the parser Starlette and FastAPI use) in place of Django's, which copies every chunk several times and caps
an upload near 300 MB/s of CPU on this machine (bench/README.md). Each file part is hashed and written as it
arrives, into the same hashed temporary file Django's upload handler makes (registry.uploads), so the
services cannot tell the two paths apart. A file part keeps its filename's relative path (a data file's
location may be "weights/layer1.bin"); registry.manifests decides whether it is a safe one."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from python_multipart.multipart import MultipartParser, parse_options_header
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, DataAndFiles

from registry.uploads import HashedUploadedFile
from transfers.pipeline import writer_for

CHUNK = 1024 * 1024  # a read at a time; BackgroundWriter.DEPTH of them may wait for the disk


class _Part:
    def __init__(self):
        self.headers: dict[bytes, bytes] = {}
        self.field = b""
        self.value = b""
        self.name = ""
        self.filename: str | None = None
        self.file: HashedUploadedFile | None = None
        self.digest = hashlib.sha256()
        self.size = 0
        self.text = bytearray()


class _Collector:
    """python-multipart's callbacks: each part's headers, then its bytes into a hashed temporary file (a file
    part) or memory (a field, within DATA_UPLOAD_MAX_MEMORY_SIZE)."""

    def __init__(self, writer):
        self.writer = writer
        self.limit = settings.GATEHOUSE_MAX_UPLOAD_MB * 1024 * 1024
        self.text_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440
        self.data, self.files = QueryDict(mutable=True), MultiValueDict()
        self.part: _Part | None = None
        self.opened: list[HashedUploadedFile] = []  # every temporary file, so a refused body leaves none behind

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_headers_finished": self.headers_done,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def begin(self):
        self.part = _Part()

    def header_field(self, buffer, start, end):
        part = self.part
        if part.value:
            part.headers[part.field.lower()] = part.value
            part.field, part.value = b"", b""
        part.field += buffer[start:end]

    def header_value(self, buffer, start, end):
        self.part.value += buffer[start:end]

    def headers_done(self):
        part = self.part
        part.headers[part.field.lower()] = part.value
        disposition = parse_options_header(part.headers.get(b"content-disposition", b""))[1]
        part.name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in disposition:
            part.filename = disposition[b"filename"].decode("utf-8", "replace")
            content_type = part.headers.get(b"content-type", b"application/octet-stream").decode("latin-1")
            part.file = HashedUploadedFile(part.filename, content_type, 0, None)
            self.opened.append(part.file)

    def part_data(self, buffer, start, end):
        part = self.part
        chunk = memoryview(buffer)[start:end]
        part.size += len(chunk)
        if part.file is None:
            part.text += chunk
            if len(part.text) > self.text_limit:
                raise ParseError(f"The field {part.name!r} is larger than {self.text_limit:,} bytes.")
        elif part.size > self.limit:
            if not part.file.too_large:  # counted and dropped, as Django's handler does: the form says why
                part.file.too_large = True
                part.file.truncate(0)
        else:
            self.writer.put(part.file, [part.digest], chunk)

    def part_end(self):
        part = self.part
        if part.file is None:
            self.data.appendlist(part.name, part.text.decode("utf-8", "replace"))
            return
        self.writer.drain()
        part.file.seek(0)
        part.file.size = part.size
        part.file.sha256 = part.digest.hexdigest()
        # Django's file keeps the base name only; a data file's location may be a relative path, which the
        # service checks (registry.manifests.safe_path) before anything is written under it.
        part.file.relative_path = part.filename
        self.files.appendlist(part.name, part.file)


class StreamingMultiPartParser(BaseParser):
    media_type = "multipart/form-data"

    def parse(self, stream, media_type=None, parser_context=None):
        boundary = parse_options_header(media_type or "")[1].get(b"boundary")
        if not boundary:
            raise ParseError("A multipart body needs a boundary in its Content-Type.")
        request = (parser_context or {}).get("request")
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        writer = writer_for(int(length) if length and str(length).isdigit() else None)
        collector = _Collector(writer)
        parser = MultipartParser(boundary, collector.callbacks())
        try:
            while chunk := stream.read(CHUNK):
                parser.write(chunk)
            parser.finalize()
            writer.drain()
        except ParseError:
            writer.stop()  # before the files close under it
            _close(collector.opened)
            raise
        except Exception as exc:  # python_multipart.exceptions.MultipartParseError and a client gone mid-body
            writer.stop()
            _close(collector.opened)
            raise ParseError(f"The multipart body could not be read: {exc}") from None
        finally:
            writer.stop()
        return DataAndFiles(collector.data, collector.files)


def _close(opened: list[HashedUploadedFile]) -> None:
    for upload in opened:
        upload.close()  # a temporary upload file removes itself when closed
