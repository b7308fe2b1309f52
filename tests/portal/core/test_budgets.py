"""Query budget of the audit log's page, on many events."""

from __future__ import annotations

import pytest
from django.db import transaction

from portal.core.services import team_create
from tests.support import ROLES, SESSION, query_budget

pytestmark = pytest.mark.django_db


def test_the_audit_log_page(client, manager, scientist):
    with transaction.atomic():
        for i in range(5):
            team_create(name=f"Team {i}", actor=scientist)
    client.force_login(manager)
    with query_budget(
        *SESSION,
        ("the page of events (one short page: no count)", "portal_auditevent"),
        *ROLES,
    ):
        assert client.get("/audit/").status_code == 200
