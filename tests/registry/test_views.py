"""Every registry page for anonymous visitors and each role; forms; bad uploads through the form."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from registry import services
from registry.models import Dataset, ModelVersion, RegisteredModel
from tests.factories import RegisteredModelFactory, UserFactory, version_create
from tests.onnx_files import onnx_bytes
from tests.registry.bad_files import BAD_ONNX
from tests.support import stored_files

pytestmark = pytest.mark.django_db

ROLES = ["scientist", "outsider", "itops", "reviewer", "manager"]


@pytest.fixture
def world(users, team):
    model = RegisteredModelFactory(name="churn", team=team, owner=users["scientist"])
    version = version_create(model, users["scientist"])

    dataset = services.dataset_create(
        actor=users["scientist"],
        model=model,
        name="holdout",
        label_column="y",
        file=ContentFile(b"x1,x2,y\n1,2,0\n3,4,1\n", name="h.csv"),
    )
    return {"model": model, "version": version, "dataset": dataset}


def _pages(world):
    ds = world["dataset"].pk
    return {
        "home": "/",
        "list": "/models/",
        "create": "/models/new/",
        "detail": "/models/churn/",
        "edit": "/models/churn/edit/",
        "version-new": "/models/churn/versions/new/",
        "version": "/models/churn/versions/1/",
        "download": "/models/churn/versions/1/download/",
        "dataset-new": "/models/churn/datasets/new/",
        "dataset": f"/models/churn/datasets/{ds}/",
        "dataset-download": f"/models/churn/datasets/{ds}/download/",
        "audit": "/audit/",
        "account": "/account/",
    }


# Expected status per page and role; the team rule: only the owning team's data scientists change a model.
EXPECTED = {
    #                  scientist outsider itops reviewer manager
    "home": (200, 200, 200, 200, 200),
    "list": (200, 200, 200, 200, 200),
    "create": (200, 200, 403, 403, 403),
    "detail": (200, 200, 200, 200, 200),
    "edit": (200, 403, 403, 403, 403),
    "version-new": (200, 403, 403, 403, 403),
    "version": (200, 200, 200, 200, 200),
    "download": (200, 200, 200, 200, 403),
    "dataset-new": (200, 403, 403, 403, 403),
    "dataset": (200, 200, 200, 200, 200),
    "dataset-download": (200, 200, 200, 200, 403),
    "audit": (200, 200, 200, 200, 200),
    "account": (200, 200, 200, 200, 200),
}


def test_every_page_for_every_role(client, users, world):
    for page, url in _pages(world).items():
        for role, expected in zip(ROLES, EXPECTED[page], strict=True):
            client.force_login(users[role])
            response = client.get(url)
            assert response.status_code == expected, f"{page} as {role}: {response.status_code}"
            if expected == 403:
                assert b"You can't do this here" in response.content
            if page.endswith("download") and expected == 200:
                b"".join(response.streaming_content)


def test_anonymous_visitors_are_sent_to_the_login(client, world):
    for page, url in _pages(world).items():
        response = client.get(url)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/accounts/login/?next="), page


def test_a_user_without_a_role_sees_no_registry(client, world):
    client.force_login(UserFactory(username="norole"))
    assert client.get("/models/").status_code == 403
    page = client.get("/").content.decode()
    assert "has no role yet" in page
    assert 'href="/models/"' not in page


def test_navigation_shows_what_the_role_can_do(client, users):
    client.force_login(users["manager"])
    page = client.get("/").content.decode()
    assert "Register a model" not in page
    client.force_login(users["scientist"])
    assert "Register a model" in client.get("/").content.decode()


def test_friendly_404(client, users):
    client.force_login(users["manager"])
    response = client.get("/models/does-not-exist/")
    assert response.status_code == 404
    assert b"Nothing here" in response.content
    assert client.get("/models/churn/versions/99/").status_code == 404


def test_download_is_the_uploaded_file(client, users, world):
    client.force_login(users["itops"])
    response = client.get("/models/churn/versions/1/download/")
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == world["version"].sha256
    assert "churn-v1.onnx" in response["Content-Disposition"]


# --- forms ------------------------------------------------------------------------------------------------

CARD = {
    "intended_use": "Retention",
    "out_of_scope_use": "Credit",
    "training_data": "CRM 2025",
    "evaluation_data": "CRM 2026Q1",
    "metrics_description": "AUC",
    "limitations": "EU only",
    "ethical_considerations": "No protected attributes",
    "caveats": "None",
}


def test_register_a_model_through_the_form(client, scientist, team):
    client.force_login(scientist)
    response = client.post(
        "/models/new/",
        {
            "name": "churn-predictor",
            "team": team.pk,
            "description": "Who leaves next month",
            "task_type": "binary-classification",
            "risk_tier": "high",
            "refresh_interval_days": 90,
            "tags": "churn, Tabular",
            **CARD,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/models/churn-predictor/"
    model = RegisteredModel.objects.get(name="churn-predictor")
    assert model.card_complete
    assert model.owner == scientist
    assert sorted(model.tags.values_list("name", flat=True)) == ["churn", "tabular"]


def test_the_form_keeps_what_was_typed_and_marks_the_fields(client, scientist, team, other_team):
    RegisteredModelFactory(name="taken", team=team)
    client.force_login(scientist)
    response = client.post(
        "/models/new/",
        {
            "name": "taken",
            "team": team.pk,
            "task_type": "regression",
            "risk_tier": "low",
            "refresh_interval_days": 0,
            "intended_use": "Typed text stays",
            "tags": "a, b",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "A model with this name is already registered; choose another name." in page
    assert "Ensure this value is greater than or equal to 1." in page
    assert "Typed text stays" in page
    assert 'value="a, b"' in page
    # Only the user's own teams are offered.
    assert other_team.name not in page


def test_upload_a_version_through_the_form(client, scientist, team, tmp_path):
    model = RegisteredModelFactory(name="churn", team=team)
    data = onnx_bytes(n_features=5)
    client.force_login(scientist)
    response = client.post(
        "/models/churn/versions/new/",
        {
            "artifact": SimpleUploadedFile("m.onnx", data),
            "source_commit": "ABCDEF1",
            "training_run_url": "https://mlflow.example.com/runs/1",
            "metrics": "auc = 0.91\nrmse: 0.3",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    version = ModelVersion.objects.get(model=model)
    assert version.sha256 == hashlib.sha256(data).hexdigest()
    assert version.metrics == {"auc": 0.91, "rmse": 0.3}
    assert version.source_commit == "abcdef1"
    assert list((tmp_path / "uploads").iterdir()) == []  # the spooled upload is gone
    page = client.get(response["Location"]).content.decode()
    assert version.sha256 in page
    assert "<code>input</code>" in page and "[N, 5]" in page


@pytest.mark.parametrize(("case", "make", "message"), BAD_ONNX, ids=[c[0] for c in BAD_ONNX])
def test_bad_uploads_through_the_form(case, make, message, client, scientist, team, tmp_path, artifact_storage):
    RegisteredModelFactory(name="churn", team=team)
    client.force_login(scientist)
    response = client.post(
        "/models/churn/versions/new/",
        {
            "artifact": SimpleUploadedFile(f"{case}.onnx", make(tmp_path)),
            "training_data_ref": "kept value",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    if case == "empty":
        assert "The submitted file is empty." in page  # Django's own check comes first
    else:
        assert escape(message) in page
    assert "kept value" in page
    assert not ModelVersion.objects.exists()
    assert stored_files(artifact_storage) == []
    assert list((tmp_path / "uploads").iterdir()) == []


def test_metrics_lines_are_checked(client, scientist, team):
    RegisteredModelFactory(name="churn", team=team)
    client.force_login(scientist)
    response = client.post(
        "/models/churn/versions/new/",
        {
            "artifact": SimpleUploadedFile("m.onnx", onnx_bytes()),
            "metrics": "auc = 0.9\nrecall = lots",
        },
    )
    assert "Line 2: &#x27;lots&#x27; is not a number." in response.content.decode()


def test_upload_over_the_limit_through_the_form(client, scientist, team, settings, tmp_path):
    settings.GATEHOUSE_MAX_UPLOAD_MB = 1
    RegisteredModelFactory(name="churn", team=team)
    client.force_login(scientist)
    response = client.post(
        "/models/churn/versions/new/",
        {
            "artifact": SimpleUploadedFile("big.onnx", b"\x08" * (2 * 1024 * 1024)),
        },
    )
    assert "over the upload limit of 1 MB" in response.content.decode()
    assert list((tmp_path / "uploads").iterdir()) == []


def test_add_a_dataset_through_the_form(client, scientist, team):
    RegisteredModelFactory(name="churn", team=team)
    client.force_login(scientist)
    response = client.post(
        "/models/churn/datasets/new/",
        {
            "name": "holdout",
            "label_column": "y",
            "file": SimpleUploadedFile("h.csv", b"a,y\n1,0\n2,1\n"),
        },
    )
    assert response.status_code == 302
    assert Dataset.objects.get().row_count == 2
    response = client.post(
        "/models/churn/datasets/new/",
        {
            "name": "other",
            "label_column": "label",
            "file": SimpleUploadedFile("h.csv", b"a,y\n1,0\n"),
        },
    )
    page = response.content.decode()
    # On the label field, not the file's, with every column; and the file must be chosen again.
    errors = page[page.index('id="id_label_column_errors"') :]
    assert errors.startswith('id="id_label_column_errors"><li>The label column &#x27;label&#x27; is not in the file.')
    assert "Its 2 columns are: a, y." in errors.split("</ul>")[0]
    assert 'id="id_file_errors"' not in page and 'id="choose-file-again"' in page


def test_edit_the_model_card(client, scientist, team):
    model = RegisteredModelFactory(name="churn", team=team)
    client.force_login(scientist)
    response = client.post(
        "/models/churn/edit/",
        {
            "description": "d",
            "task_type": "regression",
            "risk_tier": "critical",
            "refresh_interval_days": 30,
            "tags": "x",
            **CARD,
        },
    )
    assert response.status_code == 302
    model.refresh_from_db()
    assert model.risk_tier == "critical" and model.card_complete


# --- list: search, filters, sorting, pagination, query counts ---------------------------------------------


def test_search_filter_sort_and_paginate(client, manager, team, other_team):
    owner = UserFactory(role="data-scientists", teams=[team, other_team])
    for i in range(30):
        services.registered_model_create(
            actor=owner,
            name=f"m-{i:02d}",
            team=team if i % 2 else other_team,
            task_type="regression",
            risk_tier="high" if i % 3 == 0 else "low",
            tags=["fraud"] if i == 7 else [],
        )
    client.force_login(manager)
    page = client.get("/models/").content.decode()
    assert "30 models" in page and "Page 1 of 2" in page
    assert "m-00" in page and "m-29" not in page
    page = client.get("/models/?q=fraud").content.decode()
    assert "1 model match" in page and "m-07" in page
    page = client.get("/models/?tag=fraud").content.decode()
    assert "m-07" in page and "m-08" not in page
    page = client.get(f"/models/?team={other_team.slug}&risk_tier=high").content.decode()
    assert "5 models" in page  # even numbers divisible by 3: 0, 6, 12, 18, 24
    page = client.get("/models/?sort=-name").content.decode()
    assert page.index("m-29") < page.index("m-28")
    page = client.get("/models/?sort=-risk_tier").content.decode()
    assert page.index("m-00") < page.index("m-01")  # high (m-00) before low (m-01): by severity, not alphabet
    assert "No model matches these filters" in client.get("/models/?q=zzz").content.decode()


def _list_queries(client, n, owner, team):
    for i in range(RegisteredModel.objects.count(), n):
        model = services.registered_model_create(
            actor=owner, name=f"q-{i}", team=team, task_type="regression", risk_tier="low", tags=["a", f"t{i}"]
        )
        if i < 3:
            version_create(model, owner)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/models/?sort=-updated")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_model_list_queries_do_not_grow_with_the_models(client, scientist, team):
    client.force_login(scientist)
    small = _list_queries(client, 30, scientist, team)  # both past one page of 25, so both are counted
    large = _list_queries(client, 80, scientist, team)
    assert small == large
    assert large <= 12


def test_model_detail_queries_do_not_grow_with_versions(client, scientist, team):
    model = RegisteredModelFactory(name="churn", team=team)
    client.force_login(scientist)
    version_create(model, scientist)
    with CaptureQueriesContext(connection) as few:
        client.get("/models/churn/")
    for _ in range(4):
        version_create(model, scientist)
    with CaptureQueriesContext(connection) as many:
        client.get("/models/churn/")
    assert len(few.captured_queries) == len(many.captured_queries)


def test_it_lowers_a_tier_on_the_model_page_and_the_team_cannot(client, users, team):
    RegisteredModelFactory(name="churn", team=team, risk_tier="high")
    client.force_login(users["scientist"])
    assert 'id="tier-lower"' not in client.get("/models/churn/").content.decode()
    edit = client.post(
        "/models/churn/edit/",
        {
            "description": "",
            "task_type": "regression",
            "risk_tier": "low",
            "refresh_interval_days": 180,
            "noninferiority_margin": 0.01,
        },
    )
    assert edit.status_code == 200 and "IT operations or a risk reviewer does it" in edit.content.decode()
    assert (
        client.post("/models/churn/risk-tier/", {"risk_tier": "low", "reason": "Because we say so."}).status_code == 403
    )
    client.force_login(users["itops"])
    page = client.get("/models/churn/").content.decode()
    assert 'id="tier-lower"' in page
    response = client.post(
        "/models/churn/risk-tier/", {"risk_tier": "low", "reason": "No decisions about people."}, follow=True
    )
    assert "churn is now low risk" in response.content.decode()
    assert RegisteredModel.objects.get(name="churn").risk_tier == "low"
