"""One FilterSet for the requests page and the requests API: the same filter means the same thing in both, and
a filter neither can read is refused by both."""

from __future__ import annotations

import pytest

from approvals.choices import RequestStatus
from approvals.filters import PromotionRequestFilterSet
from approvals.selectors import request_list
from tests.factories import PromotionRequestFactory, RegisteredModelFactory, version_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def requests(users, team):
    scientist = users["scientist"]
    churn = RegisteredModelFactory(name="churn", team=team, owner=scientist)
    price = RegisteredModelFactory(name="price", team=team, owner=scientist)
    opened = PromotionRequestFactory(version=version_create(churn, scientist))
    rejected = PromotionRequestFactory(
        version=version_create(price, scientist), status=RequestStatus.REJECTED, reason="Too weak."
    )
    return opened, rejected


def test_the_filters(requests):
    opened, rejected = requests

    def ids(data):
        filterset = PromotionRequestFilterSet(data, queryset=request_list())
        assert filterset.is_valid(), filterset.errors
        return [r.pk for r in filterset.qs]

    assert ids({}) == [rejected.pk, opened.pk]  # newest first
    assert ids({"status": "rejected"}) == [rejected.pk]
    assert ids({"model": "churn"}) == [opened.pk]
    assert ids({"model": "churn", "status": "rejected"}) == []


def test_the_page_and_the_api_agree(client, api, users, requests):
    opened, rejected = requests
    client.force_login(users["itops"])
    api.force_authenticate(users["itops"])
    page = client.get("/approvals/requests/?model=churn")
    assert page.status_code == 200
    assert f"#{opened.pk}" in page.content.decode() and f"#{rejected.pk}" not in page.content.decode()
    assert [r["id"] for r in api.get("/api/v1/requests/?model=churn").json()["results"]] == [opened.pk]
    bad_page = client.get("/approvals/requests/?status=bogus")
    bad_api = api.get("/api/v1/requests/?status=bogus")
    assert bad_page.status_code == 400 and "Some filters could not be read" in bad_page.content.decode()
    assert f"#{opened.pk}" not in bad_page.content.decode()  # an unreadable filter selects nothing
    assert bad_api.status_code == 400 and "status" in bad_api.json()
