"""Everything the dashboard shows for a scope, and the per-process cache that keeps it between changes.

The debt figures come from the latest snapshot up to the end of the range (taken every few minutes by beat,
and for every past day); the flow figures from the milestones kept on the rows. Each is compared with 30
days before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Max
from django.utils import timezone

from approvals.models import StageChange
from portal.dashboard.facts import facts_now
from portal.dashboard.figures import Figure, Scope, range_bounds
from portal.dashboard.flow import flow_metrics, funnel
from portal.dashboard.formula import DEBT_COMPONENTS, EXPLAIN, LABELS, ModelDebt, components
from portal.dashboard.history import SHELF_BUCKETS, heatmap, snapshot_summary, snapshots, trend
from portal.dashboard.models import DebtDay, DebtSnapshot
from registry.models import RegisteredModel

DEFAULT_RANGE_DAYS = 180
COMPARE_DAYS = 30
TOP_MODELS = 15
CACHE_S = 300


@dataclass
class Dashboard:
    scope: Scope
    date_from: dt.date
    date_to: dt.date
    day: dt.date | None  # the snapshot the debt figures come from (None: no snapshot yet)
    taken_at: dt.datetime | None
    headline: dict[str, Figure]
    flow: dict[str, Figure]
    shelf: list[Figure]
    funnel: list[Figure]
    trend: list[dict]
    heatmap: dict  # {"teams", "team_ids", "components", "keys", "z", "counts"}
    contributions: dict[str, float]
    top: list[DebtSnapshot]
    ranked_count: int

    @property
    def live(self) -> bool:
        return self.day is not None and self.day == timezone.localdate()

    def figures(self) -> dict[str, Figure]:
        out = dict(self.headline)
        out.update(self.flow)
        out.update({f.key: f for f in self.shelf})
        out.update({f.key: f for f in self.funnel})
        return out


def _headline(summary: dict | None, previous: dict | None) -> dict[str, Figure]:
    now, prev = summary or {}, previous or {}
    out = {
        "debt_index": Figure(
            "debt_index",
            "Model Debt Index",
            now.get("index"),
            "",
            previous=prev.get("index"),
            help="mean of the live models' indexes, weighted by risk tier",
        ),
        "in_production": Figure(
            "in_production",
            "Models in production",
            now.get("production", 0),
            "models",
            previous=prev.get("production"),
            help="live models with a version in production",
            higher_is_better=True,
        ),
    }
    for c in DEBT_COMPONENTS:
        out[c] = Figure(c, LABELS[c], now.get(c, 0), "models", previous=prev.get(c), help=EXPLAIN[c])
    return out


def _range(scope: Scope, today: dt.date) -> tuple[dt.date, dt.date]:
    date_to = min(scope.date_to or today, today)
    date_from = scope.date_from or (date_to - dt.timedelta(days=DEFAULT_RANGE_DAYS))
    return (date_to, date_from) if date_from > date_to else (date_from, date_to)


def _flow(scope: Scope, date_from: dt.date, date_to: dt.date) -> dict[str, Figure]:
    flow = flow_metrics(scope, date_from, date_to)
    shift = dt.timedelta(days=COMPARE_DAYS)
    before = flow_metrics(scope, date_from - shift, date_to - shift, dwell=False)
    for key, figure in flow.items():
        figure.previous = None if key.startswith("dwell_") else before[key].value
    return flow


def dashboard(scope: Scope, *, now: dt.datetime | None = None) -> Dashboard:
    """Everything the page shows, for the scope."""
    date_from, date_to = _range(scope, timezone.localdate(now or timezone.now()))
    marker = DebtDay.objects.filter(date__lte=date_to).order_by("-date").first()
    day = marker.date if marker else None
    summary = snapshot_summary(day, scope) if day else None
    previous = snapshot_summary(day - dt.timedelta(days=COMPARE_DAYS), scope) if day else None
    on_day = trend(scope, day, day) if day else []
    top = (
        list(
            snapshots(day, scope)
            .filter(index__gt=0)
            .select_related("model", "team")
            .order_by("-index", "model__name")[:TOP_MODELS]
        )
        if day
        else []
    )
    return Dashboard(
        scope=scope,
        date_from=date_from,
        date_to=date_to,
        day=day,
        taken_at=marker.taken_at if marker else None,
        headline=_headline(summary, previous),
        flow=_flow(scope, date_from, date_to),
        shelf=[
            Figure(f"shelf_{low}", label, (summary or {}).get(f"shelf_{low}", 0), "models")
            for low, _high, label in SHELF_BUCKETS
        ],
        funnel=funnel(scope, (summary or {}).get("production", 0), range_bounds(date_from, date_to)[1]),
        trend=trend(scope, date_from, date_to),
        heatmap=heatmap(day, scope),
        contributions={c: on_day[0][c] for c in DEBT_COMPONENTS} if on_day else dict.fromkeys(DEBT_COMPONENTS, 0.0),
        top=top,
        ranked_count=(summary or {}).get("ranked", 0),
    )


def dashboard_cached(scope: Scope) -> Dashboard:
    """``dashboard(scope)``, kept in this process's cache until one of its inputs changes: a new snapshot
    (every few minutes), a stage change, a model's first version; and for five minutes at most, since ages
    and ranges move with the clock. The page is read far more often than these change, and computing it
    costs a few hundred milliseconds at 10,000 models where a cached board costs three small queries."""
    marker = (
        DebtDay.objects.aggregate(t=Max("taken_at"))["t"],
        StageChange.objects.aggregate(n=Max("id"))["n"],
        RegisteredModel.objects.aggregate(t=Max("first_version_at"))["t"],
        int(time.time() // CACHE_S),
    )
    key = "debt-dashboard:" + hashlib.sha256(repr((scope, marker)).encode()).hexdigest()
    board = cache.get(key)
    if board is None:
        board = dashboard(scope)
        cache.set(key, board, CACHE_S)
    return board


def model_debt(model_id: int) -> ModelDebt | None:
    """One model's debt now (its page shows it)."""
    at = timezone.now()
    found = facts_now(Scope(model_ids=[model_id]), at=at)
    return components(found[0], at) if found else None
