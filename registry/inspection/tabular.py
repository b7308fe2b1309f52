"""CSV and Parquet datasets: the schema and row count, read in chunks or from the metadata."""

from __future__ import annotations

import os
from typing import Any

from registry.inspection.sniff import Rejected, describe_foreign, looks_like_text, read_head


def _dtype_name(dtype: str) -> str:
    return {
        "object": "string",
        "str": "string",
        "double": "float64",
        "float": "float32",
        "large_string": "string",
        "bool": "bool",
    }.get(dtype, dtype)


def _check_label(columns: list[dict[str, str]], label_column: str | None) -> None:
    names = [c["name"] for c in columns]
    if label_column and label_column not in names:
        shown = ", ".join(names[:20]) + (" …" if len(names) > 20 else "")
        raise Rejected(f"The label column '{label_column}' is not in the file. Its columns are: {shown}.")


def inspect_csv(path: str, label_column: str | None) -> dict[str, Any]:
    import csv  # noqa: PLC0415

    import pandas as pd  # noqa: PLC0415 - large, and rarely needed: not in the fork server's memory

    if os.path.getsize(path) == 0:
        raise Rejected("The file is empty.")
    head = read_head(path)
    foreign = describe_foreign(head, expected="csv")
    if foreign:
        raise Rejected(foreign)
    if not looks_like_text(head):
        raise Rejected("This is a binary file, not a CSV file (CSV is UTF-8 text with a header row).")
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        header = next(csv.reader(fh), [])
    if not header or all(not h.strip() for h in header):
        raise Rejected("The CSV has no header row: its first line must name the columns.")
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise Rejected(f"The CSV names these columns more than once: {', '.join(duplicates)}.")
    if any(not h.strip() for h in header):
        raise Rejected("A column in the CSV's header row has no name.")

    rows = 0
    kinds: dict[str, str] = {}
    try:
        for chunk in pd.read_csv(path, chunksize=200_000, encoding="utf-8", low_memory=False):
            rows += len(chunk)
            for name, dtype in chunk.dtypes.items():
                kinds[name] = _merge_dtype(kinds.get(name), str(dtype))
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        message = str(exc).strip().splitlines()[0][:300]
        raise Rejected(f"The CSV could not be parsed: {message}") from None
    if rows == 0:
        raise Rejected("The CSV has a header but no rows.")
    columns = [{"name": h, "dtype": _dtype_name(kinds.get(h, "string"))} for h in header]
    _check_label(columns, label_column)
    return {"format": "csv", "row_count": rows, "columns": columns}


def _merge_dtype(old: str | None, new: str) -> str:
    """A column's dtype over all chunks: int widens to float, anything mixed with text is text."""
    if old is None or old == new:
        return new
    numeric = ("int64", "float64", "bool")
    if old in numeric and new in numeric:
        return "float64" if "float64" in (old, new) or {old, new} == {"int64", "bool"} else new
    return "object"


def inspect_parquet(path: str, label_column: str | None) -> dict[str, Any]:
    import pyarrow as pa  # noqa: PLC0415 - as pandas
    import pyarrow.parquet as pq  # noqa: PLC0415

    if os.path.getsize(path) == 0:
        raise Rejected("The file is empty.")
    head = read_head(path)
    foreign = describe_foreign(head, expected="parquet")
    if foreign:
        raise Rejected(foreign)
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        rows = parquet.metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
        message = str(exc).strip().splitlines()[0][:300]
        raise Rejected(f"This is not a readable Parquet file: {message}") from None
    if rows == 0:
        raise Rejected("The Parquet file has no rows.")
    columns = [{"name": f.name, "dtype": _dtype_name(str(f.type))} for f in schema]
    _check_label(columns, label_column)
    return {"format": "parquet", "row_count": int(rows), "columns": columns}
