"""Signed checkpoints of the audit chain: what the table's owner can do to the table itself (delete its tail,
truncate it, rewrite an event and recompute every later hash) is each reported by audit_verify against the
checkpoints, stored or kept elsewhere; places in the chain are numbered without gaps."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from approvals.models import Webhook, WebhookDelivery
from portal.core import dsse, keys
from portal.core.audit import event_hash, event_payload
from portal.core.models import AuditCheckpoint, AuditEvent
from portal.core.services import CHECKPOINT_PAYLOAD_TYPE, audit_checkpoint_sign, team_create

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger, and the owner's way around it, are PostgreSQL's"
)


def _events(actor, n: int) -> list[AuditEvent]:
    start = AuditEvent.objects.count()
    for i in range(n):
        team_create(name=f"Team {start + i}", actor=actor)
    return list(AuditEvent.objects.order_by("seq"))


def _as_owner():
    """What the table's owner can do: switch the append-only trigger off (in this test's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE portal_auditevent DISABLE TRIGGER portal_auditevent_append_only")


def _verify(*args) -> str:
    with pytest.raises(CommandError) as info:
        call_command("audit_verify", *args)
    return str(info.value)


def test_places_are_numbered_without_gaps_whatever_rolled_back(scientist):
    _events(scientist, 2)
    with pytest.raises(RuntimeError), transaction.atomic():
        team_create(name="Rolled back", actor=scientist)
        raise RuntimeError
    events = _events(scientist, 2)
    assert [e.seq for e in events] == [1, 2, 3, 4]
    call_command("audit_verify")


def test_a_checkpoint_signs_the_head_and_is_published(scientist, caplog, django_capture_on_commit_callbacks):
    Webhook.objects.create(url="http://127.0.0.1:9/hook", secret="s" * 20, events=["audit.checkpoint"])
    events = _events(scientist, 3)
    with (
        caplog.at_level(logging.INFO, logger="gatehouse.audit.checkpoint"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        checkpoint = audit_checkpoint_sign(reason="schedule")
    assert (checkpoint.seq, checkpoint.head_hash) == (3, events[-1].hash)
    payload = json.loads(dsse.verify_payload(checkpoint.envelope, keys.verification_keys(), CHECKPOINT_PAYLOAD_TYPE))
    assert (payload["seq"], payload["hash"]) == (3, events[-1].hash)
    assert audit_checkpoint_sign(reason="schedule") is None  # nothing new to sign
    assert json.dumps(checkpoint.envelope, separators=(",", ":")) in caplog.text  # the log has it
    delivery = WebhookDelivery.objects.get(event="audit.checkpoint")
    assert delivery.payload["data"] == {"seq": 3, "hash": events[-1].hash, "envelope": checkpoint.envelope}
    call_command("audit_verify")


def test_the_checkpoints_are_public(api, scientist):
    _events(scientist, 2)
    checkpoint = audit_checkpoint_sign(reason="schedule")
    body = api.get("/api/v1/audit/checkpoints/").json()  # no token
    assert [(c["seq"], c["head_hash"], c["envelope"]) for c in body["results"]] == [
        (2, checkpoint.head_hash, checkpoint.envelope)
    ]


@on_postgresql
def test_a_deleted_tail_is_reported(scientist):
    _events(scientist, 15)
    audit_checkpoint_sign(reason="schedule")
    _as_owner()
    AuditEvent.objects.filter(seq__gt=12).delete()
    call_command("audit_verify", "--no-stored")  # the chain alone cannot tell: what is left is a chain
    message = _verify()
    assert "The chain ends at event 12, but the checkpoint signed" in message
    assert "events 13–15 are missing (deleted or truncated)" in message


@on_postgresql
def test_a_truncated_table_is_reported(scientist):
    _events(scientist, 5)
    audit_checkpoint_sign(reason="schedule")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses while FK checks are pending
        cursor.execute("TRUNCATE portal_auditevent")
    message = _verify()
    assert "The audit table is empty, but the checkpoint signed" in message
    assert "covers 5 events: the table was truncated" in message


@on_postgresql
def test_a_rewritten_history_is_reported_between_the_checkpoints(scientist):
    _events(scientist, 10)
    audit_checkpoint_sign(reason="schedule")
    _events(scientist, 5)
    audit_checkpoint_sign(reason="schedule")
    _as_owner()
    prev = None
    for event in AuditEvent.objects.filter(seq__gte=13).order_by("seq"):  # event 13 forged, every later hash redone
        if event.seq == 13:
            event.after = {"name": "Forged", "members": []}
        event.prev_hash = prev or event.prev_hash
        event.hash = prev = event_hash(event.prev_hash, event_payload(event))
        AuditEvent.objects.filter(pk=event.pk).update(after=event.after, prev_hash=event.prev_hash, hash=event.hash)
    call_command("audit_verify", "--no-stored")  # consistent on its own: only a checkpoint shows it
    message = _verify()
    assert "Event 15 has hash" in message
    assert "the history was rewritten between event 11 and event 15" in message


@on_postgresql
def test_checkpoints_kept_elsewhere_still_catch_it_when_the_stored_ones_are_gone(scientist, tmp_path):
    """The owner deletes the tail and the checkpoints table too; the webhook bodies a receiver kept do not go."""
    _events(scientist, 3)
    earlier = audit_checkpoint_sign(reason="schedule")
    _events(scientist, 3)
    later = audit_checkpoint_sign(reason="schedule")
    kept = tmp_path / "checkpoints.jsonl"  # what a webhook receiver appended, one body a line
    kept.write_text(
        "".join(
            json.dumps({"event": "audit.checkpoint", "data": {"envelope": c.envelope}}) + "\n" for c in (earlier, later)
        )
    )
    AuditCheckpoint.objects.all().delete()
    _as_owner()
    AuditEvent.objects.filter(seq__gt=3).delete()
    call_command("audit_verify")  # nothing stored left to compare with
    message = _verify("--checkpoints", str(kept))
    assert "events 4–6 are missing" in message and "(checkpoints.jsonl line 2)" in message


def test_a_forged_checkpoint_is_refused(scientist):
    _events(scientist, 2)
    checkpoint = audit_checkpoint_sign(reason="schedule")
    payload = json.loads(base64.b64decode(checkpoint.envelope["payload"]))
    payload["seq"] = 1  # to hide the last event
    forged = {**checkpoint.envelope, "payload": base64.b64encode(json.dumps(payload).encode()).decode()}
    AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(envelope=forged)
    assert "does not verify: The signature does not verify" in _verify()


def test_a_renumbered_event_is_reported(scientist):
    events = _events(scientist, 3)
    if connection.vendor == "postgresql":
        _as_owner()
    AuditEvent.objects.filter(pk=events[2].pk).update(seq=7)
    assert f"broken at event {events[2].pk}: its place is numbered 7, but it is event 3" in _verify()


def test_the_migration_numbers_the_events_already_recorded_in_id_order(scientist):
    from importlib import import_module  # noqa: PLC0415

    events = _events(scientist, 4)
    if connection.vendor == "postgresql":
        _as_owner()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE portal_auditevent SET seq = seq * 10 + 1000")  # as if never numbered
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses while FK checks are pending

    class Editor:  # the part of a schema editor the migration's function uses
        def __init__(self):
            self.connection = connection

        def execute(self, sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)

    import_module("portal.migrations.0008_audit_seq_and_checkpoints").number_events(None, Editor())
    assert list(AuditEvent.objects.order_by("id").values_list("seq", flat=True)) == [1, 2, 3, 4]
    assert [e.hash for e in AuditEvent.objects.order_by("seq")] == [e.hash for e in events]  # hashes unchanged
    call_command("audit_verify")


def test_checkpoints_are_read_from_text_and_json_logs(scientist, tmp_path):
    from portal.management.commands.audit_verify import _envelopes  # noqa: PLC0415

    _events(scientist, 2)
    envelope = audit_checkpoint_sign(reason="schedule").envelope
    compact = json.dumps(envelope, separators=(",", ":"))
    log = tmp_path / "gatehouse.log"
    log.write_text(
        "2026-12-02 10:00:00,000 INFO django.request [-] something else {not: a checkpoint}\n"
        f"2026-12-02 10:00:01,000 INFO gatehouse.audit.checkpoint [-] audit checkpoint {compact}\n"
        + json.dumps(
            {"levelname": "INFO", "name": "gatehouse.audit.checkpoint", "message": f"audit checkpoint {compact}"}
        )
        + "\n"
    )
    assert [(source, e) for source, e in _envelopes(log)] == [
        ("gatehouse.log line 2", envelope),
        ("gatehouse.log line 3", envelope),
    ]
    (tmp_path / "empty.log").write_text("2026-12-02 INFO nothing to see\n")
    with pytest.raises(CommandError, match="holds no checkpoint"):
        call_command("audit_verify", "--checkpoints", str(tmp_path / "empty.log"))
