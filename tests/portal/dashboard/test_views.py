"""The dashboard page, drill-downs, CSV and JSON: permissions for every role, filters, bounded queries."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from portal.dashboard.snapshots import debt_backfill, debt_snapshot_take
from tests.factories import RegisteredModelFactory, UserFactory
from tests.portal.dashboard.history import NOW, build, change, version
from tests.support import ROLES, SESSION, query_budget

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    with time_machine.travel(NOW, tick=False):
        data = build()
        debt_backfill(since=NOW.date() - dt.timedelta(days=20))
        debt_snapshot_take()
    return data


@pytest.fixture
def at_now():
    with time_machine.travel(NOW, tick=True):
        yield


def test_every_role_reads_it_and_nobody_else(client, users, history, at_now):
    for user in users.values():
        client.force_login(user)
        response = client.get("/dashboard/")
        assert response.status_code == 200, user
        assert b"Model Debt Index" in response.content
    client.force_login(UserFactory(username="no-role"))
    assert client.get("/dashboard/").status_code == 403
    assert client.get("/dashboard/models/?figure=stuck").status_code == 403
    client.logout()
    assert client.get("/dashboard/").status_code == 302


def test_the_page_shows_the_figures_and_drills_down(client, manager, history, at_now):
    client.force_login(manager)
    page = client.get("/dashboard/").content.decode()
    assert 'data-figure="stuck">1<' in page and 'data-figure="in_production">2<' in page
    assert "alpha-critical" in page and "plotly.min.js" in page and "dashboard-data" in page
    drill = client.get("/dashboard/models/?figure=unmonitored").content.decode()
    assert "alpha-critical" in drill and "gamma-medium" not in drill and "last observation" in drill
    day = client.get(f"/dashboard/models/?figure=day:{NOW.date().isoformat()}:shelf").content.decode()
    assert "beta-low" in day and "alpha-critical" not in day.split("<tbody>")[1]
    assert client.get("/dashboard/models/?figure=nope").status_code == 404
    assert client.get("/dashboard/models/?figure=day:2026-13-01:shelf").status_code == 404


def test_filters_apply_to_everything_and_bad_ones_show_nothing(client, manager, history, at_now):
    client.force_login(manager)
    beta = client.get("/dashboard/?team=beta").content.decode()
    assert "beta-low" in beta and "alpha-critical" not in beta
    bad = client.get("/dashboard/?team=no-such-team&from=2026-02-30")
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "could not be read" in text and "Select a valid choice" in text and "Enter a valid date" in text
    reversed_range = client.get("/dashboard/?from=2026-06-10&to=2026-06-01")
    assert reversed_range.status_code == 400 and "starts after it ends" in reversed_range.content.decode()
    future = client.get("/dashboard/?from=2026-07-01&to=2026-08-01")
    assert future.status_code == 400 and "Choose a day up to today (2026-06-15)" in future.content.decode()
    past = client.get("/dashboard/?to=2026-06-01").content.decode()
    assert "Debt as recorded on 2026-06-01" in past
    ancient = client.get("/dashboard/?to=0001-01-01")  # its default start would fall before the calendar's
    assert ancient.status_code == 400 and "Choose a date from 2000-01-01 on." in ancient.content.decode()


def test_csv_export(client, manager, history, at_now):
    client.force_login(manager)
    response = client.get("/dashboard/?tier=critical&tier=low&format=csv")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["model"] for r in rows] == ["alpha-critical", "beta-low"]
    assert rows[0]["worst_component"] == "unmonitored" and rows[0]["stuck"] == "1"
    assert "working day" in rows[0]["stuck_reason"]


def test_the_json_api(api, users, history, at_now):
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=users['manager']).key}")
    data = api.get("/api/v1/debt/?team=alpha").json()
    assert {m["model"] for m in data["top_models"]} == {"alpha-critical", "gamma-medium"}
    assert data["models_with_debt"] == 2 and data["snapshot"]["date"] == NOW.date().isoformat()
    assert data["headline"]["in_production"]["value"] == 2
    assert set(data["flow"]) >= {"production_yield", "lead_time_median", "change_failure_rate"}
    assert data["trend"] and data["filters"]["teams"] == ["alpha"]
    assert api.get("/api/v1/debt/?tier=extreme").status_code == 400
    assert "from" in api.get("/api/v1/debt/?from=2026-13-45").json()  # named as the parameter is
    assert api.get("/api/v1/debt/?to=0001-01-01").json() == {"to": ["Choose a date from 2000-01-01 on."]}
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory(username='x')).key}")
    assert api.get("/api/v1/debt/").status_code == 403
    api.credentials()
    assert api.get("/api/v1/debt/").status_code == 401


def test_queries_do_not_grow_with_the_number_of_models(client, manager, history, at_now):
    client.force_login(manager)

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries.captured_queries)

    urls = ["/dashboard/", "/dashboard/models/?figure=debt_index", "/api/v1/debt/"]
    before = [count(u) for u in urls]
    for n in range(15):
        model = RegisteredModelFactory(name=f"extra-{n}", team=history["team_b"], risk_tier="low")
        v = version(model, 1, created=40)
        change(v, "design", "test", 35)
    assert [count(u) for u in urls] == before
    assert before[0] <= 30


def test_the_board_is_cached_until_its_inputs_change(client, manager, history, at_now):
    client.force_login(manager)

    def get() -> tuple[int, dict]:
        with CaptureQueriesContext(connection) as queries:
            data = client.get("/dashboard/").context["data"]
        return len(queries.captured_queries), data

    computed, first = get()
    cached, again = get()
    assert again == first and cached <= computed - 15  # three marker queries instead of the figures' two dozen
    model = RegisteredModelFactory(name="new-arrival", team=history["team_b"], risk_tier="low")
    change(version(model, 1, created=3), "design", "test", 2)  # a stage change: the flow figures move at once
    recomputed, changed = get()
    assert recomputed == computed and changed["funnel"] != first["funnel"]
    debt_snapshot_take()  # so does a new snapshot
    assert get()[0] == computed


def test_the_dashboard_query_budget(client, manager, history, at_now):
    """Every query the page runs, named; the figures are aggregates, so the count is the same at any size
    (above). The 30-days-before snapshot of this history has no rows, so its counts are not read."""
    client.force_login(manager)
    flow = [
        ("yield: the cohort", "registry_registeredmodel"),
        ("lead times", "registry_registeredmodel"),
        ("dwell per stage", "approvals_stagechange"),
        ("approval waits", "approvals_promotionrequest"),
        ("deployments and failures", "approvals_stagechange"),
    ]
    with query_budget(
        *SESSION,
        ("has the install a snapshot yet", "portal_debtday"),
        ("cache key: newest snapshot", "portal_debtday"),
        ("cache key: newest stage change", "approvals_stagechange"),
        ("cache key: newest first version", "registry_registeredmodel"),
        ("the day the figures are as of", "portal_debtday"),
        ("portfolio index from the rollups", "portal_debtrollup"),
        ("models per component, shelf buckets", "portal_debtsnapshot"),
        ("30 days before: portfolio index", "portal_debtrollup"),
        ("the day's contributions", "portal_debtrollup"),
        ("the top models", "portal_debtsnapshot"),
        *flow,
        *[(f"30 days before: {what}", table) for what, table in flow if not what.startswith("dwell")],
        ("the funnel", "registry_registeredmodel"),
        ("the trend", "portal_debtrollup"),
        ("the heatmap", "portal_debtsnapshot"),
        *ROLES,
        ("teams for the filter", "portal_team"),
    ):
        assert client.get("/dashboard/").status_code == 200
