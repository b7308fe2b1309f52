"""Reads of the recorded history: a day's snapshot rows, its summary, the trend from the rollups, the heatmap.

Each is a fixed number of aggregate queries, whatever the number of models.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When

from portal.dashboard.figures import Scope
from portal.dashboard.formula import DEBT_COMPONENTS, LABELS, TIER_WEIGHT, WEIGHT_TOTAL, WEIGHTS
from portal.dashboard.models import DebtRollup, DebtSnapshot

SHELF_BUCKETS = (
    (0, 30, "under 30 days"),
    (30, 60, "30–60 days"),
    (60, 90, "60–90 days"),
    (90, 180, "90–180 days"),
    (180, None, "over 180 days"),
)


def tier_weight():
    return Case(
        *[When(risk_tier=t, then=Value(w)) for t, w in TIER_WEIGHT.items()],
        default=Value(0),
        output_field=IntegerField(),
    )


def shelf_q(low: int, high: int | None) -> Q:
    return Q(shelf_days__gte=low, **({"shelf_days__lt": high} if high else {}))


def snapshots(day: dt.date, scope: Scope) -> QuerySet[DebtSnapshot]:
    """The day's rows, filtered by the team and tier each row had that day."""
    return DebtSnapshot.objects.filter(scope.q(ids="model_id"), date=day)


def rollups(scope: Scope) -> QuerySet[DebtRollup]:
    """Rollups sum teams and tiers: one model's share is not in them."""
    return DebtRollup.objects.filter(dataclasses.replace(scope, model_ids=[]).q())


def snapshot_summary(day: dt.date, scope: Scope) -> dict | None:
    """The portfolio index, live and production models, and how many models carry each component, from the
    snapshot of ``day``; None when that day has none."""
    agg = (
        rollups(scope)
        .filter(date=day)
        .annotate(tw=tier_weight())
        .aggregate(w=Sum(F("tw") * F("models_count")), idx=Sum(F("tw") * F("index_sum")), n=Sum("models_count"))
    )
    if not agg["n"]:
        return None
    shelf = {f"shelf_{low}": Count("id", filter=shelf_q(low, high)) for low, high, _label in SHELF_BUCKETS}
    counts = snapshots(day, scope).aggregate(
        **{f"n_{c}": Count("id", filter=Q(**{f"{c}__gt": 0})) for c in DEBT_COMPONENTS},
        production=Count("id", filter=Q(stage="production")),
        ranked=Count("id", filter=Q(index__gt=0)),
        **shelf,
    )
    return {
        "index": agg["idx"] / agg["w"] if agg["w"] else None,
        "models": agg["n"],
        "production": counts["production"],
        "ranked": counts["ranked"],
        **{c: counts[f"n_{c}"] for c in DEBT_COMPONENTS},
        **{k: counts[k] for k in shelf},
    }


def trend(scope: Scope, date_from: dt.date, date_to: dt.date) -> list[dict]:
    """Per day in the range: the portfolio index and each component's part of it, from the rollups
    (one aggregate query, whatever the number of models)."""
    rows = (
        rollups(scope)
        .filter(date__gte=date_from, date__lte=date_to)
        .annotate(tw=tier_weight())
        .values("date")
        .annotate(
            w=Sum(F("tw") * F("models_count")),
            idx=Sum(F("tw") * F("index_sum")),
            n=Sum("models_count"),
            **{c: Sum(F("tw") * F(c)) for c in DEBT_COMPONENTS},
        )
        .order_by("date")
    )
    return [
        {
            "date": r["date"],
            "index": r["idx"] / r["w"],
            "models": r["n"],
            **{c: 100.0 * WEIGHTS[c] * r[c] / WEIGHT_TOTAL / r["w"] for c in DEBT_COMPONENTS},
        }
        for r in rows
        if r["w"]
    ]


def heatmap(day: dt.date | None, scope: Scope) -> dict:
    """Per team and component: the mean dᵢ of the team's live models as a percentage, how many of them carry
    the component, and how many live models the team has."""
    rows = (
        []
        if day is None
        else list(
            snapshots(day, scope)
            .values("team_id", "team__name")
            .annotate(
                n=Count("id"),
                **{f"s_{c}": Sum(c) for c in DEBT_COMPONENTS},
                **{f"n_{c}": Count("id", filter=Q(**{f"{c}__gt": 0})) for c in DEBT_COMPONENTS},
            )
            .order_by("team__name")
        )
    )
    return {
        "teams": [r["team__name"] for r in rows],
        "team_ids": [r["team_id"] for r in rows],
        "components": [LABELS[c] for c in DEBT_COMPONENTS],
        "keys": list(DEBT_COMPONENTS),
        "z": [[round(100.0 * r[f"s_{c}"] / r["n"], 1) for c in DEBT_COMPONENTS] for r in rows],
        "counts": [[r[f"n_{c}"] for c in DEBT_COMPONENTS] for r in rows],
        "models": [r["n"] for r in rows],  # each team's live models: what the counts and the mean are of
    }
