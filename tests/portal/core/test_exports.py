"""CSV downloads are read by spreadsheets: a cell a user wrote must never run as a formula there."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import transaction

from portal.core.exports import cell
from portal.core.services import team_create

pytestmark = pytest.mark.django_db


def test_cells_that_would_start_a_formula_are_neutralised():
    for dangerous in ('=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert cell(dangerous) == "'" + dangerous
    assert cell("-0.5") == "-0.5" and cell("+3") == "+3"  # numbers stay numbers
    assert cell("plain") == "plain" and cell(3) == 3 and cell(None) is None


def test_the_audit_export_neutralises_what_people_typed(client, manager, scientist):
    with transaction.atomic():
        team_create(name="=cmd|' /C calc'!A0", actor=scientist)
    client.force_login(manager)
    response = client.get("/audit/?format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "id"
    assert any(row[rows[0].index("object_repr")] == "'=cmd|' /C calc'!A0" for row in rows[1:])
