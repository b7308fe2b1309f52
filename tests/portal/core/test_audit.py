from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from portal.core.audit import verify_chain
from portal.core.models import AuditEvent
from portal.core.services import team_create
from portal.core.views import CappedPaginator

pytestmark = pytest.mark.django_db


def _events(actor, n=3):
    for i in range(n):
        team_create(name=f"Team {i}", actor=actor)
    return list(AuditEvent.objects.order_by("id"))


def _without_trigger():
    """On PostgreSQL, the append-only trigger must be switched off to simulate tampering at all."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses while FK checks are pending
            cursor.execute("ALTER TABLE portal_auditevent DISABLE TRIGGER portal_auditevent_append_only")


def test_chain_links_each_event_to_the_previous(scientist):
    events = _events(scientist)
    assert events[0].prev_hash == "0" * 64
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert verify_chain(events) == (3, None)
    call_command("audit_verify")


def test_audit_verify_finds_an_altered_row(scientist):
    events = _events(scientist)
    _without_trigger()
    AuditEvent.objects.filter(pk=events[1].pk).update(after={"name": "Forged"})
    with pytest.raises(CommandError) as info:
        call_command("audit_verify")
    assert f"broken at event {events[1].pk}" in str(info.value)
    assert "altered" in str(info.value)
    assert "1 event(s) before it verify" in str(info.value)


def test_audit_verify_finds_a_removed_row(scientist):
    events = _events(scientist)
    _without_trigger()
    AuditEvent.objects.filter(pk=events[1].pk).delete()
    with pytest.raises(CommandError, match=f"broken at event {events[2].pk}: prev_hash"):
        call_command("audit_verify")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_postgresql_refuses_update_and_delete_of_audit_rows(scientist):
    event = _events(scientist, n=1)[0]
    with pytest.raises(DatabaseError, match="append-only: UPDATE"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(DatabaseError, match="append-only: DELETE"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "portal.team.created"


def test_request_id_and_ip_are_recorded(client, scientist):
    client.force_login(scientist)
    client.post("/account/token/", REMOTE_ADDR="10.1.2.3", HTTP_X_REQUEST_ID="abcdef0123456789")
    event = AuditEvent.objects.get(action="portal.token.created")
    assert event.request_id == "abcdef0123456789"
    assert event.ip == "10.1.2.3"


def test_audit_page_filters_and_exports(client, scientist, manager):
    for name in ("Alpha", "Beta", "Gamma"):
        team_create(name=name, actor=scientist)
    client.force_login(manager)
    page = client.get("/audit/?actor=dana&object=beta").content.decode()
    assert "1 event match" in page and "Beta" in page and "Gamma" not in page
    response = client.get("/audit/?action=portal.team&format=jsonl")
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [r["object_repr"] for r in lines] == ["Alpha", "Beta", "Gamma"]
    assert lines[1]["prev_hash"] == lines[0]["hash"]
    response = client.get("/audit/?actor=dana&format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["object_repr"] for r in rows] == ["Alpha", "Beta", "Gamma"]
    assert json.loads(rows[0]["after"])["name"] == "Alpha"
    assert 'attachment; filename="gatehouse-audit-' in response["Content-Disposition"]


def test_a_long_log_counts_up_to_the_cap_and_pages_on(client, scientist, manager, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "CAP", 4)
    for n in range(6):
        team_create(name=f"Log {n}", actor=scientist)
    client.force_login(manager)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/audit/").content.decode()
    assert "4+ events" in page and "Last »" not in page
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]  # a short page is its count
    for n in range(6, 51):  # past one page of 50: now it is counted
        team_create(name=f"Log {n}", actor=scientist)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/audit/").content.decode()
    assert "4+ events" in page and "Last »" not in page
    count_sql = next(q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper())
    assert "LIMIT 5" in count_sql  # the count stops at the cap, whatever the log's length
    assert "1 event match" in client.get("/audit/?object=log 50").content.decode()  # below the cap: exact
