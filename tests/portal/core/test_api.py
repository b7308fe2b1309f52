"""The API's conventions hold for inputs nobody meant to send: the answer is JSON, with a status that says
whose fault it was, and nothing is written."""

from __future__ import annotations

import pytest

from portal.core.models import AuditEvent
from portal.web.views import server_error

pytestmark = pytest.mark.django_db


def test_json_nested_too_deep_is_a_400(api, scientist):
    api.force_authenticate(scientist)
    deep = "[" * 5000 + "]" * 5000
    for path in ("/api/v1/models/", "/api/v1/requests/", "/api/v1/jobs/"):
        response = api.post(path, deep, content_type="application/json")
        assert response.status_code == 400, path
        assert response.json() == {"detail": "JSON parse error: the document is nested too deeply."}
    assert not AuditEvent.objects.exists()


def test_a_nul_in_a_filter_is_a_400(api, manager):
    api.force_authenticate(manager)
    for path in ("/api/v1/requests/?model=%00", "/api/v1/production/?model=%00", "/api/v1/models/?q=%00"):
        response = api.get(path)
        assert response.status_code == 400, path
        assert "Null characters are not allowed." in str(response.json())


def test_a_server_error_on_the_api_is_json():
    class Request:
        path = "/api/v1/models/"
        id = "abc123"

    response = server_error(Request())
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert b"request_id" in response.content
