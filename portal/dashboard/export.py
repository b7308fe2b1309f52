"""The board as data: JSON for the API and the page's charts, and the snapshot as CSV rows."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from portal.dashboard.board import Dashboard
from portal.dashboard.flow import DWELL_STAGES
from portal.dashboard.formula import BANDS, DEBT_COMPONENTS, TIER_WEIGHT, WEIGHTS, band
from portal.dashboard.history import snapshots
from portal.dashboard.models import DebtSnapshot

CSV_HEADER = [
    "date",
    "model",
    "team",
    "risk_tier",
    "stage",
    "debt_index",
    "band",
    "worst_component",
    *DEBT_COMPONENTS,
    *[f"{c}_reason" for c in DEBT_COMPONENTS],
]


def as_dict(board: Dashboard) -> dict:
    """Every figure of the page as JSON-ready data (the API and the page's charts read this)."""
    lead = board.flow["lead_time_median"].values
    counts, edges = np.histogram(lead, bins=min(30, max(1, len(set(lead))))) if lead else ([], [])
    return {
        "snapshot": {
            "date": board.day.isoformat() if board.day else None,
            "taken_at": board.taken_at.isoformat() if board.taken_at else None,
        },
        "filters": {
            "teams": board.scope.teams,
            "tiers": board.scope.tiers,
            "from": board.date_from.isoformat(),
            "to": board.date_to.isoformat(),
        },
        "weights": WEIGHTS,
        "tier_weights": TIER_WEIGHT,
        "bands": [{"from": low, "to": high, "name": name, "meaning": text} for low, high, name, text in BANDS],
        "headline": {k: f.as_dict() for k, f in board.headline.items()},
        "contributions": board.contributions,
        "flow": {k: f.as_dict() for k, f in board.flow.items()},
        "lead_time_histogram": {"counts": [int(c) for c in counts], "edges": [float(e) for e in edges]},
        "lead_time_days": [round(v, 2) for v in lead],  # each model's lead time: the chart draws one dot each
        "dwell_days": {s: board.flow[f"dwell_{s}"].box or {} for s in DWELL_STAGES},
        "shelf_inventory": [f.as_dict() for f in board.shelf],
        "funnel": [f.as_dict() for f in board.funnel],
        "trend": [{**row, "date": row["date"].isoformat()} for row in board.trend],
        "heatmap": board.heatmap,
        "top_models": [snapshot_row(s) for s in board.top],
        "models_with_debt": board.ranked_count,
    }


def snapshot_row(s: DebtSnapshot) -> dict:
    return {
        "model": s.model.name,
        "team": s.team.name,
        "risk_tier": s.risk_tier,
        "stage": s.stage,
        "index": round(s.index, 2),
        "band": band(s.index),
        "worst": s.worst,
        "components": s.component_values(),
        "details": s.details,
    }


DRILL_CSV_HEADER = [
    "model",
    "team",
    "risk_tier",
    "stage",
    "debt_index",
    "risk_weight",
    "share_of_index",
    "why",
    *DEBT_COMPONENTS,
]


def drill_csv_rows(rows) -> Iterator[list]:
    """A drill-down's rows as the page lists them, every page at once."""
    for r in rows:
        s = r.snapshot
        yield [
            r.name,
            r.team,
            r.risk_tier,
            s.stage if s else "",
            f"{s.index:.2f}" if s else "",
            "" if r.weight is None else r.weight,
            "" if r.contribution is None else f"{r.contribution:.4f}",
            r.note,
            *[f"{getattr(s, c):g}" if s else "" for c in DEBT_COMPONENTS],
        ]


def csv_rows(board: Dashboard) -> Iterator[list[str]]:
    """Every row of the board's snapshot, worst first, with each component's reason."""
    if board.day is None:
        return
    rows = snapshots(board.day, board.scope).select_related("model", "team").order_by("-index", "model__name")
    for s in rows.iterator(chunk_size=2000):
        yield [
            s.date.isoformat(),
            s.model.name,
            s.team.name,
            s.risk_tier,
            s.stage,
            f"{s.index:.2f}",
            band(s.index),
            s.worst or "",
            *[f"{getattr(s, c):g}" for c in DEBT_COMPONENTS],
            *[s.details.get(c, "") for c in DEBT_COMPONENTS],
        ]
