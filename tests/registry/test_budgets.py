"""Query budgets of the registry's list and detail pages and API lists: each query named, on more than one row of
everything (an N+1 shows as a budget overrun). The lists' counts are also checked not to grow with the rows
(tests/registry/test_views.py, tests/registry/jobs/test_views_and_api.py). Each list here is one short page, so
it is not counted (portal.core.pagination; a full page's count is tested in tests/portal/core/test_pagination.py)."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from approvals.models import StageChange
from registry.choices import JobKind
from tests.factories import PromotionRequestFactory, RegisteredModelFactory, evidence, version_create
from tests.support import ROLES, SESSION, api_auth, query_budget

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry_rows(users, team):
    scientist = users["scientist"]
    for i in range(3):
        model = RegisteredModelFactory(name=f"m{i}", team=team, owner=scientist)
        for _ in range(2):
            version = version_create(model, scientist)
            evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
        PromotionRequestFactory(version=version)
        for change in range(2):  # the timeline links each change to its version
            StageChange.objects.create(version=version, from_stage="design", to_stage="test", reason=f"change {change}")


@pytest.fixture
def it_client(client, users, registry_rows):
    client.force_login(users["itops"])
    return client


@pytest.fixture
def it_api(api, users, registry_rows):
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=users['itops']).key}")
    return api


def test_model_list(it_client):
    with query_budget(
        *SESSION,
        ("the page of models with their version facts (one short page: no count)", "registry_registeredmodel"),
        ("their tags", "registry_registeredmodel_tags"),
        *ROLES,
        ("teams for the filter", "portal_team"),
    ):
        assert it_client.get("/models/").status_code == 200


def test_model_detail(it_client):
    with query_budget(
        *SESSION,
        ("the model", "registry_registeredmodel"),
        ("its tags", "registry_registeredmodel_tags"),
        ("the page of versions (one short page: no count)", "registry_modelversion"),
        *ROLES,
        ("the timeline", "approvals_stagechange"),
        ("its requests", "approvals_promotionrequest"),
        ("debt: the model and its team", "registry_registeredmodel"),
        ("debt: versions", "registry_modelversion"),
        ("debt: stage changes", "approvals_stagechange"),
        ("debt: requests", "approvals_promotionrequest"),
        ("debt: findings", "approvals_finding"),
        ("debt: observations", "registry_observation"),
        ("debt: passed validations", "registry_job"),
        ("datasets", "registry_dataset"),
    ):
        assert it_client.get("/models/m1/").status_code == 200


def test_version_detail(it_client):
    with query_budget(
        *SESSION,
        ("the version, model and team", "registry_modelversion"),
        ("the evidence jobs, with their datasets (the version is not joined again)", "registry_job"),
        ("the workers online (the benchmark form's devices)", "fleet_worker"),
        ("the device the open request's policy wants benchmarks on", "approvals_promotionrequest"),
        ("the latest benchmark on each device class", "registry_job"),
        ("has the model a dataset", "registry_dataset"),
        ("the monitoring chart", "registry_observation"),
        *ROLES,
        ("the version's requests, the open one among them", "approvals_promotionrequest"),
        ("its findings, with owner and raiser", "approvals_finding"),
        ("its signed attestations", "approvals_attestation"),
        ("where it came from in MLflow (imports)", "imports_importedversion"),
        ("the latest observations", "registry_observation"),
    ):
        assert it_client.get("/models/m1/versions/2/").status_code == 200


def test_job_list(it_client):
    with query_budget(
        *SESSION,
        ("the page of jobs with version, model, dataset, requester (short: no count)", "registry_job"),
        *ROLES,
    ):
        assert it_client.get("/jobs/").status_code == 200


def test_api_lists(it_api):
    with query_budget(
        *api_auth(),
        ("the page of models (short: no count)", "registry_registeredmodel"),
        ("their tags", "registry_registeredmodel_tags"),
    ):
        assert it_api.get("/api/v1/models/").status_code == 200
    with query_budget(
        *api_auth(),
        (
            "the page of versions with their model (short: no count; the model is looked up only if none)",
            "registry_modelversion",
        ),
    ):
        assert it_api.get("/api/v1/models/m1/versions/").status_code == 200
    with query_budget(*api_auth(), ("a page of jobs by cursor (no count)", "registry_job")):
        assert it_api.get("/api/v1/jobs/").status_code == 200
