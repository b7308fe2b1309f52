"""The API's conventions hold for inputs nobody meant to send: the answer is JSON, with a status that says
whose fault it was, and nothing is written."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

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


RENDERED = [
    {"name": "churn", "n": 3, "ok": True, "none": None, "f": 0.1, "nested": [{"a": [1, 2.5, "x"]}]},
    {"unicode": "café 模型 ✓", "script": "a\u2028b\u2029c", "quote": 'say "hi"\n\t\\'},
    {"when": datetime.datetime(2026, 12, 3, 5, 6, 7, 891234, tzinfo=datetime.UTC), "day": datetime.date(2026, 1, 2)},
    {"naive": datetime.datetime(2026, 12, 3, 5, 6, 7), "t": datetime.time(5, 6, 7, 123456)},
    {"money": decimal.Decimal("1.10"), "lazy": gettext_lazy("Not found."), "id": uuid.UUID(int=7)},
    {"big": 2**70, "negative": -(2**63) - 1},
    {1: "int key", "delta": datetime.timedelta(seconds=90)},
    ReturnDict({"detail": ErrorDetail("No such model.", code="not_found")}, serializer=None),
    ReturnList([{"a": 1}], serializer=None),
    [],
    "plain",
]


def test_small_floats_are_the_same_numbers_in_a_shorter_notation():
    from rest_framework.renderers import JSONRenderer as DRFRenderer  # noqa: PLC0415 - the reference

    from portal.core.api import JSONRenderer  # noqa: PLC0415

    data = {"loss": 3.2e-05, "tiny": -4e-06, "eps": 1e-07, "big": 1.5e300, "p": 0.0001, "min": 5e-324}
    ours, drf = JSONRenderer().render(data), DRFRenderer().render(data)
    assert json.loads(ours) == json.loads(drf) == data
    assert b'"loss":0.000032' in ours and b'"loss":3.2e-05' in drf  # the one difference, and why it is harmless


@pytest.mark.parametrize("data", RENDERED)
def test_the_api_renders_the_bytes_drf_renders(data):
    from rest_framework.renderers import JSONRenderer as DRFRenderer  # noqa: PLC0415 - the reference

    from portal.core.api import JSONRenderer  # noqa: PLC0415

    assert JSONRenderer().render(data, "application/json") == DRFRenderer().render(data, "application/json")
    indented = "application/json; indent=2"
    assert JSONRenderer().render(data, indented) == DRFRenderer().render(data, indented)


def test_the_api_answers_through_the_fast_renderer(api, scientist):
    api.force_authenticate(scientist)
    response = api.get("/api/v1/models/")
    assert type(response.accepted_renderer).__module__ == "portal.core.api"
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
