"""``audit_verify --extract``: the events a compliance pack carries are recomputed from their payloads and
compared with the chain at their places; a file that holds no extract is refused with what it should be."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from portal.core.audit import AUDIT_EXTRACT_FORMAT, event_hash, event_payload, extract_problems
from portal.core.models import AuditEvent
from portal.core.services import team_create

pytestmark = pytest.mark.django_db


def _extract(events) -> dict:
    items = [{"seq": e.seq, "hash": e.hash, "prev_hash": e.prev_hash, "payload": event_payload(e)} for e in events]
    return {"format": AUDIT_EXTRACT_FORMAT, "events": {"items": items, "total": len(items), "more": 0}}


def _verify(tmp_path, document) -> str:
    path = tmp_path / "extract.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(CommandError) as info:
        call_command("audit_verify", "--extract", str(path))
    return str(info.value)


def test_an_extract_alone_verifies_and_says_no_checkpoint_covers_it_yet(scientist, tmp_path, capsys):
    for name in ("Alpha", "Beta", "Gamma"):
        team_create(name=name, actor=scientist)
    path = tmp_path / "extract.json"
    path.write_text(json.dumps(_extract(AuditEvent.objects.filter(seq__in=[1, 3]))))
    call_command("audit_verify", "--extract", str(path))
    out = capsys.readouterr().out
    assert "Audit extract intact: 2 event(s) between places 1 and 3" in out
    assert "no signed checkpoint covers event 3 yet" in out


def test_what_is_no_extract_is_refused_with_what_it_should_be(scientist, tmp_path):
    team_create(name="Alpha", actor=scientist)
    assert "is not JSON" in _verify(tmp_path, "not json")
    assert "holds no audit extract" in _verify(tmp_path, {"audit": None})
    assert "holds no event" in _verify(tmp_path, {"format": AUDIT_EXTRACT_FORMAT, "events": {"items": []}})
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("audit_verify", "--extract", str(tmp_path / "missing.json"))


def test_each_problem_of_an_extract_is_named():
    good = {"seq": 1, "prev_hash": "0" * 64, "payload": {"action": "x"}}
    good["hash"] = event_hash(good["prev_hash"], good["payload"])
    assert extract_problems([good], {1: good["hash"]}) == []
    assert "is not in this audit chain" in extract_problems([good], {})[0]
    assert "the chain holds" in extract_problems([good], {1: "f" * 64})[0]
    assert "does not match its hash" in extract_problems([{**good, "payload": {"action": "y"}}], {1: good["hash"]})[0]
    assert "is no audit event" in extract_problems([{"seq": 1}], {})[0]
