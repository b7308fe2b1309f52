"""Query budgets of the release pages and API lists, each query named, on several requests and decisions."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.authtoken.models import Token

from approvals.models import Decision, Finding
from registry.models import ModelVersion
from tests.factories import PromotionRequestFactory, RegisteredModelFactory, version_create
from tests.support import ROLES, SESSION, api_auth, query_budget

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_requests(users, team):
    scientist = users["scientist"]
    for i in range(3):
        model = RegisteredModelFactory(name=f"m{i}", team=team, owner=scientist, risk_tier="critical")
        version = version_create(model, scientist)
        ModelVersion.objects.filter(pk=version.pk).update(stage="test")
        version.refresh_from_db()
        request = PromotionRequestFactory(version=version)
        Decision.objects.create(request=request, person=users["reviewer"], role="risk-reviewers", decision="approve")
        for severity in ("high", "low"):
            Finding.objects.create(
                version=version,
                request=request,
                title=f"{severity} finding on m{i}",
                severity=severity,
                description="Found in review.",
                owner=scientist,
                raised_by=users["reviewer"],
                due_date=dt.date(2020, 1, 1),  # overdue: the row shows it
            )


def test_the_approval_queue(client, users, open_requests):
    client.force_login(users["itops"])
    with query_budget(
        *SESSION,
        *ROLES,
        (
            "the page of requests that need this person (short: no count)",
            "approvals_promotionrequest",
        ),
        ("the page's unresolved findings per version and severity", "approvals_finding"),
    ):
        page = client.get("/approvals/")
    assert page.status_code == 200 and "m2" in page.content.decode()
    assert page.content.decode().count("2 unresolved findings, 1 blocking") == 3


def test_the_findings_page(client, users, open_requests):
    client.force_login(users["manager"])
    with query_budget(
        *SESSION,
        ("the page of findings with version, model, team, owner, raiser (short: no count)", "approvals_finding"),
        *ROLES,
    ):
        page = client.get("/findings/?status=unresolved&overdue=true")
    assert page.status_code == 200 and page.content.decode().count("overdue</span>") == 6


def test_the_findings_api(api, users, open_requests):
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=users['itops']).key}")
    with query_budget(
        *api_auth(),
        ("the page of findings (short: no count)", "approvals_finding"),
    ):
        response = api.get("/api/v1/findings/?severity=high")
    assert response.status_code == 200 and response.json()["count"] == 3


def test_the_requests_page(client, users, open_requests):
    client.force_login(users["itops"])
    with query_budget(
        *SESSION,
        ("the page of requests with version, model, team, requester (short: no count)", "approvals_promotionrequest"),
        *ROLES,
    ):
        assert client.get("/approvals/requests/").status_code == 200


def test_the_api_lists(api, users, open_requests):
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=users['itops']).key}")
    with query_budget(
        *api_auth(),
        ("the page of requests (short: no count)", "approvals_promotionrequest"),
        ("their decisions", "approvals_decision"),
        ("who decided", "auth_user"),
    ):
        assert api.get("/api/v1/requests/").status_code == 200
    with query_budget(*api_auth(), ("what is in production, with since when", "registry_modelversion")):
        assert api.get("/api/v1/production/").status_code == 200
