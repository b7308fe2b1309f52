"""The API's token check, and a page's session, keep the user's credentials row for a few seconds per process,
and drop it the moment any credential changes, in this process or another: a rotated token, a changed
password, a removed role, a left team, a deactivated account never work a second longer than the commit that
changed them (PostgreSQL: the cache and its notifications live there)."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from portal.core import authentication
from portal.core.roles import Role, ensure_role_groups, user_roles
from portal.core.selectors import TEAM_IDS
from portal.core.services import api_token_rotate

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the token cache is PostgreSQL's"),
    # Committed transactions: the cache is never used inside one, and notifications are sent on commit.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def empty_cache(transactional_db):
    ensure_role_groups()  # a committed test starts from an emptied database
    authentication._rows.clear()
    yield
    authentication._rows.clear()


def _get(api, key: str, path: str = "/api/v1/models/"):
    return api.get(path, HTTP_AUTHORIZATION=f"Token {key}")


def _token_queries(queries) -> int:
    return sum('"authtoken_token"' in q["sql"] for q in queries.captured_queries)


def _credential_reads(queries) -> int:
    """Reads of a user's credentials row (the one statement with the permissions' ARRAY), token or session."""
    return sum("ARRAY(" in q["sql"] and '"auth_user"' in q["sql"] for q in queries.captured_queries)


def _listener() -> psycopg.Connection:
    """A second session, as another process would hold."""
    settings_dict = connection.settings_dict
    conn = psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432,
        password=settings_dict["PASSWORD"] or None,
        autocommit=True,
    )
    conn.execute(f"LISTEN {authentication.CHANNEL}")
    return conn


def _notified(conn: psycopg.Connection) -> int:
    return len(list(conn.notifies(timeout=0.3)))


def test_a_token_is_read_once_then_kept(api, scientist):
    key = Token.objects.create(user=scientist).key
    with CaptureQueriesContext(connection) as first:
        assert _get(api, key).status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert _get(api, key).status_code == 200
    assert _token_queries(first) == 1
    assert _token_queries(second) == 0


def test_a_rotated_token_is_refused_at_once(api, scientist):
    old = Token.objects.create(user=scientist).key
    assert _get(api, old).status_code == 200  # cached now
    new = api_token_rotate(user=scientist).key
    response = _get(api, old)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert _get(api, new).status_code == 200


def test_a_removed_role_is_refused_at_once(api, scientist):
    key = Token.objects.create(user=scientist).key
    assert _get(api, key).status_code == 200
    scientist.groups.remove(Group.objects.get(name=Role.DATA_SCIENTIST))
    assert _get(api, key).status_code == 403


def test_a_change_in_another_process_drops_the_row(api, scientist):
    """Another process changes the role with its own session and notifies, as credentials_changed does there:
    this process's next call reads the row again."""
    key = Token.objects.create(user=scientist).key
    assert _get(api, key).status_code == 200
    other = _listener()
    try:
        group = Group.objects.get(name=Role.DATA_SCIENTIST)
        with other.transaction():
            other.execute("DELETE FROM auth_user_groups WHERE user_id = %s AND group_id = %s", [scientist.pk, group.pk])
            other.execute("SELECT pg_notify(%s, '')", [authentication.CHANNEL])
    finally:
        other.close()
    # The notification crosses the server asynchronously: it is read on this process's next calls, within a
    # moment on a loaded machine, and long before the cache's own expiry would drop the row.
    deadline = time.monotonic() + 3
    while _get(api, key).status_code != 403:
        assert time.monotonic() < deadline, "the notification never dropped the cached row"
        time.sleep(0.05)


def test_changes_notify_other_processes_on_commit_only(scientist):
    other = _listener()
    try:
        group = Group.objects.get(name=Role.DATA_SCIENTIST)
        with pytest.raises(RuntimeError), transaction.atomic():
            scientist.groups.remove(group)
            raise RuntimeError("rolled back")
        assert _notified(other) == 0
        scientist.groups.remove(group)
        assert _notified(other) == 1
        scientist.is_active = False
        scientist.save()
        assert _notified(other) == 1
        api_token_rotate(user=scientist)
        assert _notified(other) >= 1
        scientist.save(update_fields=["last_login"])  # a sign-in changes no right: nobody is disturbed
        assert _notified(other) == 0
    finally:
        other.close()


def test_a_row_is_kept_only_for_its_lifetime(api, scientist, settings, monkeypatch):
    """A change made behind the application's back (no notification) lasts GATEHOUSE_API_TOKEN_CACHE_S."""
    settings.GATEHOUSE_API_TOKEN_CACHE_S = 5
    now = [1000.0]
    monkeypatch.setattr(authentication.time, "monotonic", lambda: now[0])
    key = Token.objects.create(user=scientist).key
    assert _get(api, key).status_code == 200
    with connection.cursor() as cursor:  # no signal, no notification
        cursor.execute("UPDATE auth_user SET is_active = false WHERE id = %s", [scientist.pk])
    now[0] += 4
    assert _get(api, key).status_code == 200
    now[0] += 2
    assert _get(api, key).status_code == 401


def test_zero_turns_the_cache_off(api, scientist, settings):
    settings.GATEHOUSE_API_TOKEN_CACHE_S = 0
    key = Token.objects.create(user=scientist).key
    _get(api, key)
    with CaptureQueriesContext(connection) as second:
        assert _get(api, key).status_code == 200
    assert _token_queries(second) == 1


def test_a_dropped_database_connection_costs_a_reconnect_not_an_error(api, scientist):
    """The database restarted (here: this session's backend is terminated from another one): the next call
    finds the broken connection while reading notifications, and is answered on a new one."""
    key = Token.objects.create(user=scientist).key
    assert _get(api, key).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = _listener()
    try:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):  # until the backend is gone and its goodbye is on our socket
            if not other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                break
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        other.close()
    assert _get(api, key).status_code == 200


# A page's session: the same row, read by user id (portal.core.backends.GatehouseModelBackend.get_user).


def test_a_session_user_is_read_once_then_kept(client, scientist):
    client.force_login(scientist)
    with CaptureQueriesContext(connection) as first:
        assert client.get("/models/").status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert client.get("/models/").status_code == 200
    assert _credential_reads(first) == 1
    # Nothing else about the user is read either: no session user, permission, role or team query.
    assert _credential_reads(second) == 0
    assert not [q for q in second.captured_queries if 'FROM "auth_user"' in q["sql"]]
    assert not [q for q in second.captured_queries if '"auth_user_groups"' in q["sql"]]


def test_a_changed_password_signs_other_sessions_out_at_once(client, scientist):
    client.force_login(scientist)
    assert client.get("/models/").status_code == 200  # cached now
    scientist.set_password("a new passphrase for dana")
    scientist.save()
    response = client.get("/models/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_removed_role_is_refused_on_a_page_at_once(client, scientist):
    client.force_login(scientist)
    assert client.get("/models/new/").status_code == 200
    scientist.groups.remove(Group.objects.get(name=Role.DATA_SCIENTIST))
    assert client.get("/models/new/").status_code == 403


def test_a_given_role_is_honoured_on_a_page_at_once(client, scientist):
    group = Group.objects.get(name=Role.DATA_SCIENTIST)
    scientist.groups.remove(group)
    client.force_login(scientist)
    assert client.get("/models/new/").status_code == 403
    scientist.groups.add(group)
    assert client.get("/models/new/").status_code == 200


def test_a_deactivated_account_is_signed_out_at_once(client, scientist):
    client.force_login(scientist)
    assert client.get("/models/").status_code == 200
    scientist.is_active = False
    scientist.save()
    assert client.get("/models/").status_code == 302


def test_a_deleted_account_is_signed_out(client, scientist):
    client.force_login(scientist)
    assert client.get("/models/").status_code == 200
    scientist.delete()
    assert client.get("/models/").status_code == 302


def test_another_process_changing_a_role_drops_a_session_row(client, scientist):
    client.force_login(scientist)
    assert client.get("/models/new/").status_code == 200
    other = _listener()
    try:
        group = Group.objects.get(name=Role.DATA_SCIENTIST)
        with other.transaction():
            other.execute("DELETE FROM auth_user_groups WHERE user_id = %s AND group_id = %s", [scientist.pk, group.pk])
            other.execute("SELECT pg_notify(%s, '')", [authentication.CHANNEL])
    finally:
        other.close()
    deadline = time.monotonic() + 3
    while client.get("/models/new/").status_code != 403:
        assert time.monotonic() < deadline, "the notification never dropped the cached row"
        time.sleep(0.05)


def test_a_session_row_gives_what_the_orm_gives(scientist, team):
    """The cached instance answers every check as one read through the ORM would."""
    cached = authentication.session_user(scientist.pk)
    fresh = get_user_model().objects.get(pk=scientist.pk)
    assert [getattr(cached, f.attname) for f in fresh._meta.concrete_fields] == [
        getattr(fresh, f.attname) for f in fresh._meta.concrete_fields
    ]
    assert cached.get_all_permissions() == fresh.get_all_permissions()
    assert cached.get_session_auth_hash() == fresh.get_session_auth_hash()
    assert user_roles(cached) == user_roles(fresh) == [Role.DATA_SCIENTIST]
    assert getattr(cached, TEAM_IDS) == {team.pk}
    assert authentication.session_user(10**9) is None
