"""A queryset compiled once returns, for any values, the rows the queryset built with them returns."""

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.core.compiled import Compiled
from portal.core.models import AuditEvent, Team
from portal.core.services import audit_event_record

pytestmark = pytest.mark.django_db

STAND_INS = {"since": dt.datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=dt.UTC), "slug": "~stand-in~"}


def _teams(since, slug):
    return Team.objects.filter(created_at__gte=since).exclude(slug=slug).order_by("name").values_list("name", "slug")


def _as_dicts(since, slug):
    return Team.objects.filter(created_at__gte=since, slug__lt=slug).order_by("slug").values("slug", "created_at")


def test_rows_are_the_querysets_for_each_value():
    now = timezone.now()
    for i, name in enumerate(["Risk", "Fraud", "Churn"]):
        team = Team.objects.create(name=name, slug=name.lower())
        Team.objects.filter(pk=team.pk).update(created_at=now - dt.timedelta(days=i))  # auto_now_add otherwise
    compiled, as_dicts = Compiled(_teams, **STAND_INS), Compiled(_as_dicts, **STAND_INS)
    for since in (now - dt.timedelta(days=5), now - dt.timedelta(hours=30), now + dt.timedelta(days=1)):
        for slug in ("risk", "fraud", "zzz"):
            assert compiled.rows(since=since, slug=slug) == list(_teams(since, slug))
            assert as_dicts.rows(since=since, slug=slug) == list(_as_dicts(since, slug))
    assert compiled.rows(since=now - dt.timedelta(days=5), slug="risk") == [("Churn", "churn"), ("Fraud", "fraud")]


def test_converters_apply_as_the_queryset_applies_them():
    """A JSON field comes back decoded, a datetime aware, as from the queryset."""
    audit_event_record(
        actor=None, action="portal.team.created", obj=Team.objects.create(name="A", slug="a"), after={"k": [1]}
    )

    def build(action):
        return AuditEvent.objects.filter(action=action).values_list("after", "created_at")

    rows = Compiled(build, action="~").rows(action="portal.team.created")
    assert rows == list(build("portal.team.created")) and rows[0][0] == {"k": [1]} and rows[0][1].tzinfo is not None


def test_it_is_one_query_and_compiled_once():
    built = []

    def build(since, slug):
        built.append((since, slug))
        return _teams(since, slug)

    compiled = Compiled(build, **STAND_INS)
    compiled.rows(since=timezone.now(), slug="x")
    with CaptureQueriesContext(connection) as ran:
        compiled.rows(since=timezone.now(), slug="y")
    assert len(ran) == 1
    assert built == [(STAND_INS["since"], STAND_INS["slug"])]  # built once, with the stand-ins, never again


def test_a_stand_in_the_statement_does_not_carry_is_refused():
    with pytest.raises(ImproperlyConfigured, match="slug"):
        Compiled(lambda since, slug: Team.objects.filter(created_at__gte=since).values_list("name"), **STAND_INS).rows(
            since=timezone.now(), slug="x"
        )


def test_a_queryset_of_models_is_refused():
    with pytest.raises(ImproperlyConfigured, match="values"):
        Compiled(lambda slug: Team.objects.filter(slug=slug), slug="~").rows(slug="x")
