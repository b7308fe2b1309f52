"""Helpers the tests share: what is left in storage, and query budgets with each query named."""

from __future__ import annotations

import contextlib
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext


def stored_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def first_table(sql: str) -> str:
    """The first table a query names: what it selects from (or counts, or inserts into)."""
    found = re.search(r'"(\w+)"\."', sql) or re.search(r'FROM "(\w+)"', sql)
    return found.group(1) if found else "?"


def api_auth() -> list[tuple[str, str]]:
    """The queries an API call's token check costs: one on PostgreSQL (portal.core.authentication), two elsewhere."""
    token = [
        ("the token, its user" + (" and permissions" if connection.vendor == "postgresql" else ""), "authtoken_token")
    ]
    return token if connection.vendor == "postgresql" else [*token, ("the user's permissions", "django_content_type")]


# A page's signed-in user: on PostgreSQL one query brings the user with permissions, teams and roles
# (portal.core.authentication.session_user); elsewhere Django's two, and the roles where a page asks for them.
_PG = connection.vendor == "postgresql"
PERMISSIONS = [] if _PG else [("the user's permissions", "django_content_type")]  # read when first asked
ROLES = [] if _PG else [("the signed-in person's roles", "auth_group")]
SESSION = [
    ("the session", "django_session"),
    ("the user, with permissions, teams and roles" if _PG else "the user", "auth_user"),
    *PERMISSIONS,
]


@contextlib.contextmanager
def query_budget(*expected: tuple[str, str]):
    """The block runs exactly these queries, in this order: ``(what it is for, the table it reads first)``
    (healthchecks' style: a budget whose every query has a reason). On failure, every query is listed."""
    with CaptureQueriesContext(connection) as ctx:
        yield ctx
    ran = [q["sql"] for q in ctx.captured_queries]
    report = "\n".join(f"  {i + 1:2}. {first_table(sql):<32} {sql[:160]}" for i, sql in enumerate(ran))
    assert len(ran) == len(expected), f"{len(ran)} queries, budget {len(expected)}:\n{report}"
    for (reason, table), sql in zip(expected, ran, strict=True):
        assert first_table(sql) == table, f"expected {table} ({reason}):\n{report}"
