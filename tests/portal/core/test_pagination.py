"""The count-sparing paginator: a short page is its own count; anything else is counted as Django counts it."""

from __future__ import annotations

import pytest
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.core.pagination import CountSparingPaginator
from portal.core.views import CappedPaginator
from portal.models import Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def seven_teams():
    Team.objects.bulk_create(Team(name=f"T{i}", slug=f"t{i}") for i in range(7))
    return Team.objects.order_by("name")


def _counts(ctx) -> int:
    return sum("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)


def test_a_short_first_page_is_read_in_one_query_with_the_count_django_gives(seven_teams):
    with CaptureQueriesContext(connection) as ctx:
        page = CountSparingPaginator(seven_teams, 10).page(1)
        assert (page.paginator.count, page.paginator.num_pages, len(page)) == (7, 1, 7)
        assert not page.has_next() and page.end_index() == 7
    assert len(ctx.captured_queries) == 1 and _counts(ctx) == 0


def test_a_short_last_page_knows_the_rows_before_it(seven_teams):
    with CaptureQueriesContext(connection) as ctx:
        page = CountSparingPaginator(seven_teams, 3).page(3)
        assert [t.name for t in page] == ["T6"]
        assert (page.paginator.count, page.paginator.num_pages, page.start_index()) == (7, 3, 7)
    assert _counts(ctx) == 0


def test_a_full_page_is_counted_because_it_cannot_tell(seven_teams):
    with CaptureQueriesContext(connection) as ctx:
        page = CountSparingPaginator(seven_teams, 3).page(1)
        assert page.paginator.count == 7 and page.has_next()
    assert _counts(ctx) == 1


@pytest.mark.parametrize("number", [1, 2, 3, "3"])
def test_every_page_matches_djangos(seven_teams, number):
    ours, django = CountSparingPaginator(seven_teams, 3).page(number), Paginator(seven_teams, 3).page(number)
    assert list(ours) == list(django)
    assert (ours.number, ours.paginator.count, ours.paginator.num_pages, ours.has_next(), ours.has_previous()) == (
        django.number,
        django.paginator.count,
        django.paginator.num_pages,
        django.has_next(),
        django.has_previous(),
    )


@pytest.mark.parametrize(
    ("number", "error"), [(4, EmptyPage), (0, EmptyPage), ("x", PageNotAnInteger), (None, PageNotAnInteger)]
)
def test_pages_out_of_range_raise_djangos_errors(seven_teams, number, error):
    with pytest.raises(error):
        CountSparingPaginator(seven_teams, 3).page(number)


def test_an_empty_list_has_an_empty_first_page_and_get_page_falls_back_to_it():
    paginator = CountSparingPaginator(Team.objects.order_by("name"), 3)
    assert (len(paginator.page(1)), paginator.count, paginator.num_pages) == (0, 0, 1)
    with pytest.raises(EmptyPage):
        CountSparingPaginator(Team.objects.order_by("name"), 3).page(2)
    assert CountSparingPaginator(Team.objects.order_by("name"), 3).get_page(9).number == 1
    with pytest.raises(EmptyPage):
        CountSparingPaginator(Team.objects.order_by("name"), 3, allow_empty_first_page=False).page(1)


def test_the_capped_paginator_caps_the_count_a_short_page_gives(seven_teams, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "CAP", 5)
    with CaptureQueriesContext(connection) as ctx:
        paginator = CappedPaginator(seven_teams, 10)
        paginator.page(1)
        assert (paginator.count, paginator.capped, paginator.count_label) == (6, True, "5+")
    assert _counts(ctx) == 0
    below = CappedPaginator(seven_teams.filter(name__in=["T1", "T2"]), 10)
    below.page(1)
    assert (below.count, below.capped, below.count_label) == (2, False, "2")


def test_get_page_reads_the_first_page_without_counting_and_falls_back_as_django_does(seven_teams):
    with CaptureQueriesContext(connection) as ctx:
        assert len(CountSparingPaginator(seven_teams, 10).get_page(None)) == 7
    assert len(ctx.captured_queries) == 1
    assert CountSparingPaginator(seven_teams, 3).get_page("x").number == 1
    assert CountSparingPaginator(seven_teams, 3).get_page(99).number == 3
    assert CountSparingPaginator(seven_teams, 3).get_page(10**20).number == 3
    assert CountSparingPaginator(seven_teams, 3).get_page(-1).number == 3  # as Django: below 1 is the last page


def test_a_huge_page_number_on_an_api_list_is_a_404_not_a_database_error(api, manager):
    api.force_authenticate(manager)
    response = api.get("/api/v1/models/", {"page": 10**18})
    assert response.status_code == 404 and response.json() == {"detail": "Invalid page."}
