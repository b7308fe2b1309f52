"""Helpers the tests share: what is left in storage, and query budgets with each query named."""

from __future__ import annotations

import contextlib
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext


def stored_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _tables(sql: str) -> list[str]:
    return re.findall(r'(?:FROM|JOIN|INTO|UPDATE)\s+"(\w+)"', sql)


@contextlib.contextmanager
def query_budget(*expected: tuple[str, str]):
    """The block runs exactly these queries, in this order: ``(what it is for, the table it reads first)``
    (healthchecks' style: a budget whose every query has a reason). On failure, every query is listed."""
    with CaptureQueriesContext(connection) as ctx:
        yield ctx
    ran = [q["sql"] for q in ctx.captured_queries]
    report = "\n".join(f"  {i + 1:2}. {(_tables(sql) or ['?'])[0]:<32} {sql[:160]}" for i, sql in enumerate(ran))
    assert len(ran) == len(expected), f"{len(ran)} queries, budget {len(expected)}:\n{report}"
    for (reason, table), sql in zip(expected, ran, strict=True):
        assert (_tables(sql) or [""])[0] == table, f"expected {table} ({reason}):\n{report}"
