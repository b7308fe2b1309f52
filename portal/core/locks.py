"""Work that must run at most once at a time across processes (beat tasks on several schedulers)."""

from __future__ import annotations

import contextlib
import hashlib

from django.db import connection


@contextlib.contextmanager
def exclusive(name: str):
    """Run at most one holder of ``name`` at a time across processes; yields False (and does nothing) when
    another holds it. PostgreSQL advisory lock; elsewhere (SQLite: one embedded worker) always True."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        got = cursor.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
