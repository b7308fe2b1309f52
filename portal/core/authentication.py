"""API authentication (its own module: DRF imports it while rest_framework.views is still loading)."""

from __future__ import annotations

import threading
import time
import weakref
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from psycopg import pq
from rest_framework import authentication, exceptions

from portal.core.models import Team
from portal.core.selectors import TEAM_IDS


@cache
def _token_sql() -> tuple[str, list[str]]:
    """One statement: the token, its user, the user's permissions (own and groups') and team ids. Written
    out once per process from the models' tables: building the same query through the ORM on every API call
    cost more CPU than running it (bench/README.md)."""
    user_model = get_user_model()
    user_fields = [f.attname for f in user_model._meta.concrete_fields]
    own = user_model.user_permissions.through._meta
    member_of = user_model.groups.through._meta
    granted = Group.permissions.through._meta
    # Table and column names come from the models; the key is a parameter.
    users = user_model._meta.db_table
    columns = ", ".join(f'"{users}"."{f}"' for f in user_fields)
    sql = f"""
        SELECT "authtoken_token"."key", "authtoken_token"."created", {columns},
          ARRAY(
            SELECT ct.app_label || '.' || p.codename
            FROM "{Permission._meta.db_table}" p JOIN "{ContentType._meta.db_table}" ct ON ct.id = p.content_type_id
            WHERE p.id IN (
              SELECT permission_id FROM "{own.db_table}" WHERE user_id = "{users}"."id"
              UNION
              SELECT g.permission_id FROM "{granted.db_table}" g
                JOIN "{member_of.db_table}" ug ON ug.group_id = g.group_id WHERE ug.user_id = "{users}"."id"
            )
          ),
          ARRAY(SELECT team_id FROM "{Team.members.through._meta.db_table}" WHERE user_id = "{users}"."id")
        FROM "authtoken_token" JOIN "{users}" ON "{users}"."id" = "authtoken_token"."user_id"
        WHERE "authtoken_token"."key" = %s
    """  # noqa: S608
    return sql, user_fields


CHANNEL = "gatehouse_credentials"  # PostgreSQL notifications: some token, user, role or team membership changed


class _TokenRows:
    """This process's recent token rows (the statement's answer), each kept GATEHOUSE_API_TOKEN_CACHE_S at most
    and all dropped when any credential changes anywhere: this process's own changes when they commit, other
    processes' (other workers, other hosts, the admin) by a notification on CHANNEL, which every connection
    that serves API calls listens to and which is read before each lookup. A notification is sent by the
    changing transaction and delivered only if it commits (``credentials_changed``)."""

    MAX = 4096

    def __init__(self):
        self.rows: dict[str, tuple[float, tuple]] = {}
        self.listening: weakref.WeakSet = weakref.WeakSet()  # raw connections that LISTEN (one per thread)
        self.lock = threading.Lock()
        # Bumped by every clear: a row read before a clear (on another thread) is not kept after it.
        self.generation = 0

    def clear(self, *_notification) -> None:
        with self.lock:
            self.generation += 1
            self.rows.clear()

    def _current(self) -> bool:
        """Read notifications that arrived on this thread's connection; False if it has just started to listen
        (what changed before it did is unknown, so nothing cached may be trusted)."""
        connection.ensure_connection()
        raw = connection.connection
        if raw not in self.listening:
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
            raw.add_notify_handler(self.clear)  # those psycopg reads along with a query's results
            self.listening.add(raw)
            self.clear()
            return False
        pgconn = raw.pgconn
        try:
            # Non-blocking reads of what the server sent since the last statement. Twice: a server that closed
            # the session (a restart) sent its goodbye and then the end of the stream, which the second read finds.
            pgconn.consume_input()
            pgconn.consume_input()
            while pgconn.notifies() is not None:
                self.clear()
            if pgconn.status != pq.ConnStatus.OK:  # the server said goodbye (a restart, a terminated session)
                raise ConnectionError
        except Exception:  # noqa: BLE001 - a broken connection (a database restart): trust nothing, reconnect
            self.clear()
            self.listening.discard(raw)
            connection.close()
            return False
        return True

    def get(self, key: str) -> tuple[tuple | None, int]:
        """The cached row (or None) and the generation a row read now must be put under."""
        current = self._current()
        generation = self.generation
        entry = self.rows.get(key) if current else None
        if entry is None or entry[0] < time.monotonic():
            return None, generation
        return entry[1], generation

    def put(self, key: str, row: tuple, generation: int) -> None:
        with self.lock:
            if generation != self.generation:  # credentials changed while it was read: not kept
                return
            if len(self.rows) >= self.MAX:
                self.rows.clear()
            self.rows[key] = (time.monotonic() + settings.GATEHOUSE_API_TOKEN_CACHE_S, row)


_rows = _TokenRows()


def credentials_changed() -> None:
    """A token, a user, a role or a team membership changed: every process drops its cached token rows once
    this transaction commits (nothing is dropped, and nothing sent, if it rolls back)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])
    transaction.on_commit(_rows.clear)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token check, reading the user's permissions and teams in the same query on PostgreSQL: every API
    call checks one, and a round trip to the database is most of what a small read costs (bench/README.md).
    The answer is kept for a few seconds (``_TokenRows``), never inside a transaction: there a LISTEN would
    only start at commit."""

    def authenticate_credentials(self, key):
        if connection.vendor != "postgresql":
            return super().authenticate_credentials(key)
        sql, user_fields = _token_sql()
        cached = settings.GATEHOUSE_API_TOKEN_CACHE_S > 0 and not connection.in_atomic_block
        row, generation = _rows.get(key) if cached else (None, 0)
        if row is None:
            with connection.cursor() as cursor:
                cursor.execute(sql, [key])
                row = cursor.fetchone()
            if cached and row is not None:
                _rows.put(key, row, generation)
        if row is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user = get_user_model().from_db(connection.alias, user_fields, row[2 : 2 + len(user_fields)])
        perms, team_ids = row[2 + len(user_fields)], row[3 + len(user_fields)]
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if not user.is_superuser:  # a superuser has every permission; the backend knows that
            user._perm_cache = set(perms)  # what portal.core.backends would read, read already
        setattr(user, TEAM_IDS, set(team_ids))  # what the team rule reads (registry.permissions)
        token = self.get_model().from_db(connection.alias, ["key", "user_id", "created"], [row[0], user.pk, row[1]])
        token.user = user
        return user, token
