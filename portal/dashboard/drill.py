"""Drill-downs: the models behind each figure of the board, each with its part in words.

Keys: a figure's key (``stuck``, ``lead_time_median``, ``funnel_test`` …); ``heat:<team id>:<component>``
(a heatmap cell); ``day:<YYYY-MM-DD>`` (a day of the trend) or ``day:<YYYY-MM-DD>:<component>``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet, Sum

from approvals.models import StageChange
from portal.core.models import Team
from portal.dashboard.board import Dashboard
from portal.dashboard.figures import Scope, range_bounds
from portal.dashboard.flow import FUNNEL, closed_requests, deployments, failed, funnel_q
from portal.dashboard.formula import DEBT_COMPONENTS, EXPLAIN, LABELS, TIER_WEIGHT, days
from portal.dashboard.history import SHELF_BUCKETS, shelf_q, snapshots, tier_weight
from portal.dashboard.models import DebtSnapshot
from registry.models import RegisteredModel


@dataclass
class DrillRow:
    model_id: int
    name: str
    team: str
    risk_tier: str
    note: str
    snapshot: DebtSnapshot | None = None  # the model's row in the dashboard's snapshot, when it has one
    weight: int | None = None  # the index's drill-down: the model's risk weight …
    contribution: float | None = None  # … and its share of the portfolio index (the shares add up to it)


class SnapshotRows:
    """Snapshot rows as DrillRows, fetched a page at a time: the paginator counts, then slices in SQL. With
    ``total_weight``, each row carries its risk weight and its share of the portfolio index."""

    def __init__(self, qs: QuerySet[DebtSnapshot], note: Callable[[DebtSnapshot], str], total_weight: int = 0):
        self.qs = qs.select_related("model", "team").order_by("-index", "model__name")
        self.note = note
        self.total_weight = total_weight

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def _row(self, s: DebtSnapshot) -> DrillRow:
        row = DrillRow(s.model_id, s.model.name, s.team.name, s.risk_tier, self.note(s), s)
        if self.total_weight:
            row.weight = TIER_WEIGHT.get(s.risk_tier, 0)
            row.contribution = row.weight * s.index / self.total_weight
        return row

    def __getitem__(self, index):
        rows = self.qs[index]
        return [self._row(s) for s in rows] if isinstance(index, slice) else self._row(rows)

    def __iter__(self):
        return iter(self[:])


def _index_note(s: DebtSnapshot) -> str:
    if not s.index:
        return "no debt"
    return f"index {s.index:.1f}" + (f", worst: {LABELS[s.worst]}" if s.worst else "")


def _component_rows(qs: QuerySet[DebtSnapshot], component: str) -> SnapshotRows:
    return SnapshotRows(
        qs.filter(**{f"{component}__gt": 0}),
        lambda s: s.details.get(component, f"{LABELS[component]} {getattr(s, component):g}"),
    )


def _day_or_cell(board: Dashboard, key: str) -> tuple[str, str, SnapshotRows]:
    kind, where, component = (key.split(":") + ["", ""])[:3]
    every = DebtSnapshot.objects.filter(board.scope.q(ids="model_id"))
    try:
        if kind == "day":
            on = dt.date.fromisoformat(where)
            if component == "":  # the whole day: every model with debt in that snapshot
                return (
                    f"Model debt on {on:%Y-%m-%d}",
                    "every model with debt in that day's snapshot",
                    SnapshotRows(every.filter(date=on, index__gt=0), _index_note),
                )
            qs, title = every.filter(date=on), f"{LABELS.get(component)} on {on:%Y-%m-%d}"
        else:
            team = Team.objects.filter(pk=int(where)).first()
            if team is None:
                raise KeyError(key)
            qs, title = every.filter(date=board.day, team_id=team.pk), f"{LABELS.get(component)} in {team.name}"
    except ValueError:
        raise KeyError(key) from None
    if component not in DEBT_COMPONENTS:
        raise KeyError(key)
    return title, EXPLAIN[component], _component_rows(qs, component)


def _snapshot_figure(base: QuerySet[DebtSnapshot], key: str) -> SnapshotRows | None:
    if key in DEBT_COMPONENTS:
        return SnapshotRows(base.filter(**{f"{key}__gt": 0}), lambda s: s.details.get(key, ""))
    if key == "debt_index":  # every live model, so its shares add up to the index on the card
        weights = base.aggregate(w=Sum(tier_weight()))["w"] or 0
        return SnapshotRows(base, _index_note, total_weight=weights)
    if key in ("in_production", "funnel_now"):
        return SnapshotRows(base.filter(stage="production"), lambda s: "a version in production")
    bucket = next(((lo, hi) for lo, hi, _label in SHELF_BUCKETS if f"shelf_{lo}" == key), None)
    if bucket:
        return SnapshotRows(
            base.filter(shelf_q(*bucket)), lambda s: f"first in test {s.shelf_days:.0f} days ago; nothing in production"
        )
    return None


def drill(board: Dashboard, key: str) -> tuple[str, str, list[DrillRow] | SnapshotRows]:
    """(title, explanation, rows) for one figure of the board; KeyError for a key it has not."""
    if key.startswith(("day:", "heat:")):
        return _day_or_cell(board, key)
    figure = board.figures().get(key)
    if figure is None:
        raise KeyError(key)
    base = DebtSnapshot.objects.none() if board.day is None else snapshots(board.day, board.scope)
    rows = _snapshot_figure(base, key)
    if rows is None:
        rows = _flow_drill(board, key, base)
    return figure.label, figure.help, rows


def _flow_drill(board: Dashboard, key: str, base: QuerySet[DebtSnapshot]) -> list[DrillRow]:
    found = flow_rows(key, board.scope, *range_bounds(board.date_from, board.date_to))
    ids = {m for m, _note in found}
    by_model = {s.model_id: s for s in base.filter(model_id__in=ids).select_related("model", "team")}
    models = {m.id: m for m in RegisteredModel.objects.filter(id__in=ids).select_related("team")}
    rows = [
        DrillRow(m, models[m].name, models[m].team.name, models[m].risk_tier, note, by_model.get(m))
        for m, note in found
    ]
    rows.sort(key=lambda r: (-(r.snapshot.index if r.snapshot else -1), r.name))
    return rows


def flow_rows(key: str, scope: Scope, start: dt.datetime, end: dt.datetime) -> list[tuple[int, str]]:
    """(model id, note) for each model behind a flow figure over [start, end)."""
    models = RegisteredModel.objects.filter(scope.q())
    if key == "production_yield":
        return [
            (
                m,
                f"first version {v:%Y-%m-%d}; "
                + (f"first in production {p:%Y-%m-%d}" if p else "not yet in production"),
            )
            for m, v, p in models.filter(first_version_at__gte=start, first_version_at__lt=end).values_list(
                "id", "first_version_at", "first_production_at"
            )
        ]
    if key in ("lead_time_median", "lead_time_p90"):
        return [
            (m, f"{days(p - t):.1f} days from first test ({t:%Y-%m-%d}) to first production ({p:%Y-%m-%d})")
            for m, t, p in models.filter(
                first_production_at__gte=start, first_production_at__lt=end, first_test_at__isnull=False
            ).values_list("id", "first_test_at", "first_production_at")
        ]
    if key.startswith("dwell_"):
        stage = key[len("dwell_") :]
        return [
            (m, f"v{n} left {stage} {left:%Y-%m-%d} after {days(left - entered):.1f} days")
            for m, n, left, entered in StageChange.objects.filter(
                scope.q("version__model__"),
                from_stage=stage,
                created_at__gte=start,
                created_at__lt=end,
                entered_at__isnull=False,
            ).values_list("version__model_id", "version__number", "created_at", "entered_at")
        ]
    if key == "approval_wait_median":
        return [
            (m, f"request #{r} for v{n} waited {days(c - o):.1f} days")
            for r, m, n, o, c in closed_requests(scope, start, end).values_list(
                "id", "version__model_id", "version__number", "created_at", "closed_at"
            )
        ]
    if key in ("deployment_frequency", "change_failure_rate"):
        qs = deployments(scope, start, end)
        qs = failed(qs) if key == "change_failure_rate" else qs
        return [
            (m, f"v{n} deployed {c:%Y-%m-%d}" + (f", rolled back {r:%Y-%m-%d}" if r else ""))
            for m, n, c, r in qs.values_list("version__model_id", "version__number", "created_at", "rolled_back_at")
        ]
    step = next(((label, f) for k, label, f in FUNNEL if k == key), None)
    if step is None:
        raise KeyError(key)
    label, field_name = step
    return [
        (m, f"{label.lower()} {when:%Y-%m-%d}")
        for m, when in models.filter(funnel_q(field_name, end)).values_list("id", field_name)
    ]
