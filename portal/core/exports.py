"""Downloads that stream: a million rows hold one chunk in memory, never the whole file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.http import StreamingHttpResponse


def _lines(header: list[str], rows: Iterable[list]) -> Iterable[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
    yield buffer.getvalue()


def csv_response(header: list[str], rows: Iterable[list], *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_lines(header, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def lines_response(lines: Iterable[str], *, content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
