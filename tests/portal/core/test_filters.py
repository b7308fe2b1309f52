"""The audit log's FilterSet."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from portal.core.filters import AuditEventFilterSet
from portal.core.models import AuditEvent
from portal.core.services import team_create

pytestmark = pytest.mark.django_db


def test_the_audit_filters(scientist, itops):
    with transaction.atomic():
        alpha = team_create(name="Alpha", actor=scientist)
        team_create(name="Beta", actor=itops)

    def actions(data):
        filterset = AuditEventFilterSet(data, queryset=AuditEvent.objects.order_by("id"))
        assert filterset.is_valid(), filterset.errors
        return [(e.actor_username, e.object_repr) for e in filterset.qs]

    assert actions({"actor": "DANA"}) == [("dana", "Alpha")]  # who, whatever the case
    assert actions({"action": "portal.team"}) == [("dana", "Alpha"), ("ivo", "Beta")]
    assert actions({"object": f"portal.team:{alpha.pk}"}) == [("dana", "Alpha")]
    assert actions({"object": "bet"}) == [("ivo", "Beta")]
    today = dt.date.today().isoformat()
    assert len(actions({"since": today, "until": today})) == 2
    assert actions({"until": "2000-01-01"}) == []
    assert not AuditEventFilterSet({"since": "yesterday"}, queryset=AuditEvent.objects.all()).is_valid()
