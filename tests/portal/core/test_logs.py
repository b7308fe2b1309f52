"""The server log: a refusal is one line, an error keeps its traceback."""

from __future__ import annotations

import logging

import pytest

pytestmark = pytest.mark.django_db


def test_an_expected_403_is_one_warning_line(client, manager, caplog):
    client.force_login(manager)
    with caplog.at_level(logging.INFO, logger="django.request"):
        assert client.get("/models/new/").status_code == 403
    refusals = [r for r in caplog.records if r.name == "django.request"]
    assert len(refusals) == 1 and refusals[0].levelname == "WARNING"
    assert refusals[0].exc_info is None and "Traceback" not in caplog.text
