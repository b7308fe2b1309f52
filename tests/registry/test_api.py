"""The registry API: the same permissions as the pages, errors as JSON with the right status code."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from registry import services
from registry.models import ModelVersion, RegisteredModel
from tests.factories import RegisteredModelFactory, UserFactory, version_create
from tests.onnx_files import onnx_bytes
from tests.registry.bad_files import BAD_ONNX
from tests.support import stored_files

pytestmark = pytest.mark.django_db


def _token(api, user):
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")


def test_anonymous_gets_401(api):
    for url in ("/api/v1/models/", "/api/v1/models/x/", "/api/v1/models/x/versions/"):
        response = api.get(url)
        assert response.status_code == 401
        assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert api.get("/api/v1/models/", HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_a_ci_pipeline_registers_a_model_and_uploads_a_version(api, scientist, team):
    _token(api, scientist)
    response = api.post(
        "/api/v1/models/",
        {
            "name": "fraud",
            "team": team.slug,
            "task_type": "binary-classification",
            "risk_tier": "critical",
            "tags": ["payments"],
            "intended_use": "Card fraud",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["team"] == team.slug
    assert response.json()["tags"] == ["payments"]
    data = onnx_bytes(n_features=6)
    response = api.post(
        "/api/v1/models/fraud/versions/",
        {
            "artifact": SimpleUploadedFile("m.onnx", data),
            "metrics": '{"auc": 0.93}',
            "source_commit": "deadbeef",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"] == 1
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["signature"]["inputs"][0] == {"name": "input", "dtype": "float", "shape": ["N", 6]}
    assert body["metrics"] == {"auc": 0.93}
    assert api.get("/api/v1/models/fraud/versions/1/").json()["sha256"] == body["sha256"]
    listed = api.get("/api/v1/models/fraud/versions/").json()
    assert [v["number"] for v in listed["results"]] == [1]


def test_field_errors_are_400_with_the_field(api, scientist, team):
    _token(api, scientist)
    response = api.post("/api/v1/models/", {"name": "Bad Name", "team": "nope", "task_type": "x"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"team", "task_type", "risk_tier"}
    response = api.post(
        "/api/v1/models/",
        {"name": "Bad Name", "team": team.slug, "task_type": "regression", "risk_tier": "low"},
        format="json",
    )
    assert response.status_code == 400
    assert "lowercase" in response.json()["name"][0]
    assert not RegisteredModel.objects.exists()


@pytest.mark.parametrize(("case", "make", "message"), BAD_ONNX, ids=[c[0] for c in BAD_ONNX])
def test_bad_uploads_through_the_api(case, make, message, api, scientist, team, tmp_path, artifact_storage):
    RegisteredModelFactory(name="churn", team=team)
    _token(api, scientist)
    response = api.post(
        "/api/v1/models/churn/versions/",
        {"artifact": SimpleUploadedFile(f"{case}.onnx", make(tmp_path))},
        format="multipart",
    )
    assert response.status_code == 400
    errors = response.json()["artifact"]
    if case == "empty":
        assert errors == ["The submitted file is empty."]
    else:
        assert message in errors[0]
    assert not ModelVersion.objects.exists()
    assert stored_files(artifact_storage) == []
    assert list((tmp_path / "uploads").iterdir()) == []


def test_role_and_team_rules(api, users, team):
    model = RegisteredModelFactory(name="churn", team=team, owner=users["scientist"])
    version_create(model, users["scientist"])
    for role in ("outsider", "itops", "reviewer", "manager"):
        api.force_authenticate(users[role])
        assert api.get("/api/v1/models/churn/").status_code == 200
        response = api.post(
            "/api/v1/models/churn/versions/",
            {"artifact": SimpleUploadedFile("m.onnx", onnx_bytes())},
            format="multipart",
        )
        assert response.status_code == 403, role
        assert "detail" in response.json()
        assert api.patch("/api/v1/models/churn/", {"risk_tier": "low"}, format="json").status_code == 403
        response = api.post(
            "/api/v1/models/",
            {"name": "x", "team": team.slug, "task_type": "regression", "risk_tier": "low"},
            format="json",
        )
        assert response.status_code == 403, role
    assert ModelVersion.objects.count() == 1
    api.force_authenticate(UserFactory(username="norole"))
    assert api.get("/api/v1/models/").status_code == 403


def test_404s(api, manager):
    api.force_authenticate(manager)
    assert api.get("/api/v1/models/nope/").status_code == 404
    assert api.get("/api/v1/models/nope/versions/").status_code == 404
    assert api.get("/api/v1/models/nope/versions/1/").status_code == 404


def test_patch_the_model_card(api, scientist, team):
    RegisteredModelFactory(name="churn", team=team)
    api.force_authenticate(scientist)
    response = api.patch("/api/v1/models/churn/", {"limitations": "EU only", "tags": ["x"]}, format="json")
    assert response.status_code == 200
    assert response.json()["limitations"] == "EU only"
    assert response.json()["tags"] == ["x"]


def test_the_answer_shows_the_tags_the_model_has_now_without_reading_them_again(api, scientist, team):
    """The service knows the tags it set; the answer is what a later read shows, in the same order."""
    api.force_authenticate(scientist)
    body = {"name": "tagged", "team": team.slug, "task_type": "regression", "risk_tier": "low"}
    with CaptureQueriesContext(connection) as created:
        answer = api.post("/api/v1/models/", {**body, "tags": ["zeta", "Alpha", "zeta", "mid"]}, format="json")
    assert answer.status_code == 201 and answer.json()["tags"] == ["alpha", "mid", "zeta"]
    assert answer.json()["tags"] == api.get("/api/v1/models/tagged/").json()["tags"]
    assert not [
        q
        for q in created.captured_queries
        if q["sql"].startswith("SELECT") and "registry_tag" in q["sql"] and "registry_registeredmodel_tags" in q["sql"]
    ]  # the model's tags are not read back
    untagged = api.post("/api/v1/models/", {**body, "name": "plain"}, format="json")
    assert untagged.json()["tags"] == [] == api.get("/api/v1/models/plain/").json()["tags"]
    for tags in (["b", "a"], []):
        changed = api.patch("/api/v1/models/tagged/", {"tags": tags}, format="json")
        assert changed.json()["tags"] == sorted(tags) == api.get("/api/v1/models/tagged/").json()["tags"]


def test_fields_that_cannot_be_set_are_refused_by_name(api, scientist, team):
    RegisteredModelFactory(name="churn", team=team, risk_tier="high")
    api.force_authenticate(scientist)
    response = api.patch(
        "/api/v1/models/churn/",
        {"limitations": "EU only", "owner": "mallory", "stage": "production", "name": "x", "team": "other"},
        format="json",
    )
    assert response.status_code == 400
    message = response.json()["detail"][0]
    assert message.startswith("These fields cannot be set here: name, owner, stage, team. The fields you may send:")
    assert RegisteredModel.objects.get(name="churn").limitations == ""  # nothing was written


def test_permission_is_checked_before_the_fields(api, manager, team):
    api.force_authenticate(manager)
    for path in ("/api/v1/models/", "/api/v1/jobs/"):
        response = api.post(path, {}, format="json")
        assert response.status_code == 403, path  # not "risk_tier: This field is required."


def test_format_messages_say_what_is_expected(api, scientist, team):
    RegisteredModelFactory(name="churn", team=team)
    api.force_authenticate(scientist)
    response = api.post(
        "/api/v1/models/churn/versions/",
        {"artifact": SimpleUploadedFile("m.onnx", onnx_bytes()), "source_commit": "main", "metrics": "{not json"},
    )
    assert response.status_code == 400
    assert response.json()["source_commit"] == ["A commit is 7 to 64 hexadecimal characters (git rev-parse HEAD)."]
    assert response.json()["metrics"] == ['Give metrics as a JSON object of name to number, e.g. {"accuracy": 0.95}.']


def test_datasets_through_the_api(api, scientist, team):
    RegisteredModelFactory(name="churn", team=team)
    api.force_authenticate(scientist)
    response = api.post(
        "/api/v1/models/churn/datasets/",
        {
            "name": "holdout",
            "label_column": "y",
            "file": SimpleUploadedFile("h.csv", b"a,y\n1,0\n2,1\n"),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["row_count"] == 2
    pk = response.json()["id"]
    assert api.get(f"/api/v1/models/churn/datasets/{pk}/").json()["columns"] == [
        {"name": "a", "dtype": "int64"},
        {"name": "y", "dtype": "int64"},
    ]
    response = api.post(
        "/api/v1/models/churn/datasets/",
        {
            "name": "bad",
            "label_column": "label",
            "file": SimpleUploadedFile("h.csv", b""),
        },
        format="multipart",
    )
    assert response.status_code == 400


def test_filters_are_shared_with_the_pages(api, manager, scientist, team):
    for name, tier in (("a-low", "low"), ("b-high", "high")):
        services.registered_model_create(actor=scientist, name=name, team=team, task_type="regression", risk_tier=tier)
    api.force_authenticate(manager)
    names = [m["name"] for m in api.get("/api/v1/models/?risk_tier=high").json()["results"]]
    assert names == ["b-high"]
    assert api.get("/api/v1/models/?risk_tier=bogus").status_code == 400


def test_name_prefix_search_and_page_size(api, manager, scientist, team):
    for name in ("fraud-a", "fraud-b", "fraud-c", "churn", "xfraud"):
        services.registered_model_create(actor=scientist, name=name, team=team, task_type="regression", risk_tier="low")
    api.force_authenticate(manager)
    names = [m["name"] for m in api.get("/api/v1/models/?name_prefix=fraud-").json()["results"]]
    assert names == ["fraud-a", "fraud-b", "fraud-c"]  # a prefix, not a substring: not xfraud
    page = api.get("/api/v1/models/?name_prefix=fraud-&page_size=2").json()
    assert [m["name"] for m in page["results"]] == ["fraud-a", "fraud-b"] and page["count"] == 3
    assert len(api.get("/api/v1/models/?page_size=100000").json()["results"]) == 5  # capped at 200, not refused


def _count(api, url):
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_endpoints_query_counts_are_constant(api, scientist, team):
    api.force_authenticate(scientist)
    model = RegisteredModelFactory(name="many", team=team)
    for i in range(5):
        services.registered_model_create(
            actor=scientist, name=f"m{i}", team=team, task_type="regression", risk_tier="low", tags=[f"t{i}"]
        )
        version_create(model, scientist)
    small = (_count(api, "/api/v1/models/"), _count(api, "/api/v1/models/many/versions/"))
    for i in range(5, 50):
        services.registered_model_create(
            actor=scientist, name=f"m{i}", team=team, task_type="regression", risk_tier="low", tags=[f"t{i}"]
        )
    for _ in range(10):
        version_create(model, scientist)
    large = (_count(api, "/api/v1/models/"), _count(api, "/api/v1/models/many/versions/"))
    # A list of one page is not counted (portal.core.pagination): the longer lists add the COUNT, nothing else.
    assert [n - m for m, n in zip(small, large, strict=True)] == [1, 0], (small, large)
    assert large == (3, 1), large  # models: count, page, tags; versions: one page, its model joined


def test_openapi_schema_and_docs_need_a_login(client, manager):
    assert client.get("/api/schema/").status_code == 401
    response = client.get("/api/docs/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(manager)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/models/{name}/versions/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()


API_EXPECTED = {
    # (method, url) -> status for scientist, outsider, itops, reviewer, manager
    ("get", "/api/v1/models/"): (200, 200, 200, 200, 200),
    ("get", "/api/v1/models/churn/"): (200, 200, 200, 200, 200),
    ("patch", "/api/v1/models/churn/"): (200, 403, 403, 403, 403),
    ("get", "/api/v1/models/churn/versions/"): (200, 200, 200, 200, 200),
    ("get", "/api/v1/models/churn/versions/1/"): (200, 200, 200, 200, 200),
    ("post", "/api/v1/models/churn/versions/"): (201, 403, 403, 403, 403),
    ("get", "/api/v1/models/churn/datasets/"): (200, 200, 200, 200, 200),
    ("post", "/api/v1/models/churn/datasets/"): (201, 403, 403, 403, 403),
    ("post", "/api/v1/models/"): (201, 403, 403, 403, 403),
}


def test_every_endpoint_for_every_role(api, users, team):
    model = RegisteredModelFactory(name="churn", team=team, owner=users["scientist"])
    version_create(model, users["scientist"])
    payloads = {
        "/api/v1/models/churn/versions/": lambda: (
            {"artifact": SimpleUploadedFile("m.onnx", onnx_bytes())},
            "multipart",
        ),
        "/api/v1/models/churn/datasets/": lambda: (
            {
                "name": f"d{RegisteredModel.objects.count()}x",
                "label_column": "y",
                "file": SimpleUploadedFile("d.csv", b"a,y\n1,0\n"),
            },
            "multipart",
        ),
        "/api/v1/models/": lambda: (
            {"name": "new-model-x", "team": team.slug, "task_type": "regression", "risk_tier": "low"},
            "json",
        ),
        "/api/v1/models/churn/": lambda: ({"caveats": "c"}, "json"),
    }
    for (method, url), statuses in API_EXPECTED.items():
        for role, expected in zip(("scientist", "outsider", "itops", "reviewer", "manager"), statuses, strict=True):
            api.force_authenticate(users[role])
            if method == "get":
                response = api.get(url)
            else:
                data, fmt = payloads[url]()
                response = getattr(api, method)(url, data, format=fmt)
            assert response.status_code == expected, f"{method} {url} as {role}: {response.status_code}"
    api.force_authenticate(None)
    for method, url in API_EXPECTED:
        assert getattr(api, method)(url).status_code == 401


def test_the_openapi_schema_generates_without_warnings():
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_token_clients_download_through_the_api(api, users, team):
    model = RegisteredModelFactory(name="churn", team=team, owner=users["scientist"])
    data = onnx_bytes(seed=42)
    version_create(model, users["scientist"], data=data)
    _token(api, users["itops"])
    body = api.get("/api/v1/models/churn/versions/1/").json()
    assert body["download_url"] == "http://testserver/api/v1/models/churn/versions/1/artifact/"
    response = api.get(body["download_url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["X-Checksum-SHA256"] == hashlib.sha256(data).hexdigest()
    api.credentials()
    _token(api, users["manager"])
    assert api.get("/api/v1/models/churn/versions/1/").json()["download_url"] is None
    assert api.get("/api/v1/models/churn/versions/1/artifact/").status_code == 403
    api.credentials()
    assert api.get("/api/v1/models/churn/versions/1/artifact/").status_code == 401


def test_not_found_messages_name_what_is_missing(api, manager):
    api.force_authenticate(manager)
    assert api.get("/api/v1/models/nope/").json() == {"detail": "There is no model named 'nope'."}
    assert api.get("/api/v1/models/nope/versions/3/").json() == {
        "detail": "There is no version 3 of a model named 'nope'."
    }


def test_an_identical_artifact_is_refused_with_the_version_it_matches(api, scientist, team):
    model = RegisteredModelFactory(name="churn", team=team)
    data = onnx_bytes(seed=7)
    version_create(model, scientist, data=data)
    api.force_authenticate(scientist)
    response = api.post(
        "/api/v1/models/churn/versions/", {"artifact": SimpleUploadedFile("m.onnx", data)}, format="multipart"
    )
    assert response.status_code == 400
    assert "identical to v1 of churn" in response.json()["artifact"][0]
    assert ModelVersion.objects.count() == 1


def test_unknown_team_says_so(api, scientist):
    api.force_authenticate(scientist)
    response = api.post(
        "/api/v1/models/", {"name": "x", "team": "nope", "task_type": "regression", "risk_tier": "low"}, format="json"
    )
    assert response.json()["team"] == ["There is no team 'nope'. Use a team's slug, e.g. risk-models."]


def test_token_authentication_reads_the_permissions_with_the_token(api, scientist, manager, team):
    model = RegisteredModelFactory(name="tok", team=team)
    version_create(model, scientist)
    key = Token.objects.create(user=manager).key
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/models/tok/versions/1/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/models/tok/versions/1/").status_code == 200
    # The token, the user and their permissions in one query on PostgreSQL; then the version.
    assert len(queries.captured_queries) == (2 if connection.vendor == "postgresql" else 3)
    assert Client(HTTP_AUTHORIZATION="Token nope").get("/api/v1/models/").status_code == 401
    manager.is_active = False
    manager.save()
    assert client.get("/api/v1/models/").status_code == 401


def test_lowering_a_tier_through_the_api(api, users, team):
    RegisteredModelFactory(name="churn", team=team, risk_tier="critical")
    api.force_authenticate(users["scientist"])
    patched = api.patch("/api/v1/models/churn/", {"risk_tier": "low"}, format="json")
    assert patched.status_code == 400 and "risk_tier" in patched.json()
    assert (
        api.post(
            "/api/v1/models/churn/risk-tier/", {"risk_tier": "low", "reason": "Harmless now, truly."}, format="json"
        ).status_code
        == 403
    )
    api.force_authenticate(users["itops"])
    lowered = api.post(
        "/api/v1/models/churn/risk-tier/", {"risk_tier": "low", "reason": "Retired the EU use."}, format="json"
    )
    assert lowered.status_code == 200 and lowered.json()["risk_tier"] == "low"
