"""CSV and Parquet datasets: the schema and row count, read in chunks or from the metadata."""

from __future__ import annotations

import difflib
import os
from collections import Counter
from typing import Any

from registry.inspection.sniff import Rejected, describe_foreign, latin1_text, looks_like_text, read_head

# Limits a dataset must keep (the settings GATEHOUSE_DATASET_MAX_COLUMNS and GATEHOUSE_DATASET_MAX_COLUMN_NAME
# send others with each request).
DEFAULT_LIMITS = {"max_columns": 10_000, "max_column_name": 200}
COLUMNS_LISTED = 50


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
    if not label_column or label_column in names:
        return
    close = difflib.get_close_matches(label_column, names, n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    if len(names) <= COLUMNS_LISTED:
        listed = f"Its {len(names)} columns are: {', '.join(names)}."
    else:
        listed = f"It has {len(names):,} columns; the first {COLUMNS_LISTED}: {', '.join(names[:COLUMNS_LISTED])} …"
    raise Rejected(f"The label column '{label_column}' is not in the file.{hint} {listed}", field="label_column")


def _check_names(names: list[str], limits: dict[str, int], what: str) -> None:
    """Few enough columns, each named, short enough and once: linear in the header's size."""
    if len(names) > limits["max_columns"]:
        raise Rejected(
            f"The {what} has {len(names):,} columns; at most {limits['max_columns']:,} are accepted "
            "(GATEHOUSE_DATASET_MAX_COLUMNS)."
        )
    if any(not n.strip() for n in names):
        raise Rejected(f"A column in the {what}'s header row has no name.")
    longest = max(names, key=len)
    if len(longest) > limits["max_column_name"]:
        raise Rejected(
            f"A column name is {len(longest):,} characters long ('{longest[:40]}…'); at most "
            f"{limits['max_column_name']} are accepted (GATEHOUSE_DATASET_MAX_COLUMN_NAME)."
        )
    duplicates = sorted(name for name, n in Counter(names).items() if n > 1)
    if duplicates:
        shown = ", ".join(duplicates[:20]) + (" …" if len(duplicates) > 20 else "")
        raise Rejected(f"The {what} names these columns more than once: {shown}.")


def inspect_csv(path: str, label_column: str | None, limits: dict[str, int] | None = None) -> dict[str, Any]:
    import csv  # noqa: PLC0415

    import pandas as pd  # noqa: PLC0415 - large, and rarely needed: not in the fork server's memory

    if os.path.getsize(path) == 0:
        raise Rejected("The file is empty.")
    head = read_head(path)
    foreign = describe_foreign(head, expected="csv")
    if foreign:
        raise Rejected(foreign)
    if not looks_like_text(head):
        if latin1_text(head):
            raise Rejected(
                "This CSV is not UTF-8 text: it looks like Latin-1 or Windows-1252 (as older Excel "
                "saves it). Save it as UTF-8 (Excel: 'CSV UTF-8'; pandas: to_csv(path, "
                "encoding='utf-8')) and upload it again."
            )
        raise Rejected("This is a binary file, not a CSV file (CSV is UTF-8 text with a header row).")
    csv.field_size_limit(1 << 24)  # a long header line is read in full, then refused by its limits below
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        header = next(csv.reader(fh), [])
    if not header or all(not h.strip() for h in header):
        raise Rejected("The CSV has no header row: its first line must name the columns.")
    _check_names(header, {**DEFAULT_LIMITS, **(limits or {})}, "CSV")

    rows = 0
    kinds: dict[str, str] = {}
    try:
        for chunk in pd.read_csv(path, chunksize=200_000, encoding="utf-8-sig", low_memory=False):
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


def inspect_parquet(path: str, label_column: str | None, limits: dict[str, int] | None = None) -> dict[str, Any]:
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
    _check_names(schema.names, {**DEFAULT_LIMITS, **(limits or {})}, "Parquet file")
    columns = [{"name": f.name, "dtype": _dtype_name(str(f.type))} for f in schema]
    _check_label(columns, label_column)
    return {"format": "parquet", "row_count": int(rows), "columns": columns}
