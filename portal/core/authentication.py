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
from portal.core.roles import ROLES, Role
from portal.core.selectors import TEAM_IDS


@cache
def _credentials_sql(by: str) -> tuple[str, list[str], int]:
    """One statement: a user (found by API token, or by id for a session), the user's permissions (own and
    groups'), team ids and group names. Written out once per process from the models' tables: building the
    same query through the ORM on every request cost more CPU than running it (bench/README.md). Returns the
    SQL, the user's columns and where they start in the row (after the token's key and created time)."""
    user_model = get_user_model()
    user_fields = [f.attname for f in user_model._meta.concrete_fields]
    own = user_model.user_permissions.through._meta
    member_of = user_model.groups.through._meta
    granted = Group.permissions.through._meta
    # Table and column names come from the models; the key is a parameter.
    users = user_model._meta.db_table
    columns = ", ".join(f'"{users}"."{f}"' for f in user_fields)
    if by == "token":
        head = '"authtoken_token"."key", "authtoken_token"."created", '
        source = f'"authtoken_token" JOIN "{users}" ON "{users}"."id" = "authtoken_token"."user_id"'
        where = '"authtoken_token"."key" = %s'
    else:
        head, source, where = "", f'"{users}"', f'"{users}"."id" = %s'
    sql = f"""
        SELECT {head}{columns},
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
          ARRAY(SELECT team_id FROM "{Team.members.through._meta.db_table}" WHERE user_id = "{users}"."id"),
          ARRAY(
            SELECT g.name FROM "{Group._meta.db_table}" g JOIN "{member_of.db_table}" ug ON ug.group_id = g.id
            WHERE ug.user_id = "{users}"."id" ORDER BY g.name
          )
        FROM {source}
        WHERE {where}
    """  # noqa: S608
    return sql, user_fields, 2 if by == "token" else 0


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


def _read(by: str, key) -> tuple | None:
    """The credentials row for a token key or a user id: from this process's cache where that is safe (never
    inside a transaction: there a LISTEN would only start at commit), else from the database."""
    sql = _credentials_sql(by)[0]
    cached = settings.GATEHOUSE_API_TOKEN_CACHE_S > 0 and not connection.in_atomic_block
    cache_key = key if by == "token" else f"user:{key}"  # a token key is 40 hex digits: never "user:…"
    row, generation = _rows.get(cache_key) if cached else (None, 0)
    if row is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [key])
            row = cursor.fetchone()
        if cached and row is not None:
            _rows.put(cache_key, row, generation)
    return row


def _user_from(by: str, row: tuple):
    """A new user instance from a credentials row, with what the permission, team and role checks would read
    already read (each request gets its own instance: nothing on it is shared)."""
    _, user_fields, start = _credentials_sql(by)
    end = start + len(user_fields)
    user = get_user_model().from_db(connection.alias, user_fields, row[start:end])
    perms, team_ids, groups = row[end], row[end + 1], row[end + 2]
    if not user.is_superuser:  # a superuser has every permission; the backend knows that
        user._perm_cache = set(perms)  # what portal.core.backends would read, read already
    setattr(user, TEAM_IDS, set(team_ids))  # what the team rule reads (registry.permissions)
    setattr(user, ROLES, [name for name in groups if name in Role.values])  # what user_roles reads
    return user


def session_user(user_id):
    """The signed-in user of a session, by id, with their permissions, teams and roles, in one query or none
    (the cache above, dropped on the same changes as a token's: a password change, a role, a team, a
    deactivation). None if no such user; NotImplemented on a database without the cache's notifications."""
    if connection.vendor != "postgresql":
        return NotImplemented
    row = _read("user", user_id)
    return None if row is None else _user_from("user", row)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token check, reading the user's permissions, teams and roles in the same query on PostgreSQL:
    every API call checks one, and a round trip to the database is most of what a small read costs
    (bench/README.md). The answer is kept for a few seconds (``_TokenRows``)."""

    def authenticate_credentials(self, key):
        if connection.vendor != "postgresql":
            return super().authenticate_credentials(key)
        row = _read("token", key)
        if row is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user = _user_from("token", row)
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        token = self.get_model().from_db(connection.alias, ["key", "user_id", "created"], [row[0], user.pk, row[1]])
        token.user = user
        return user, token
