"""The dashboard's vocabulary: the filters a page applies (Scope) and a number it shows (Figure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Q
from django.utils import timezone


@dataclass
class Scope:
    """The page's filters: teams (slugs), risk tiers, and the date range of the trend and flow metrics."""

    teams: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    model_ids: list[int] = field(default_factory=list)  # one model's page asks for its own debt

    def q(self, prefix: str = "", *, ids: str = "id") -> Q:
        """The filter for rows reached through ``prefix`` (``""`` on models or on snapshot and rollup rows, which
        carry their day's team and tier; ``"version__model__"`` on requests); ``ids`` names the model's id there
        (``"model_id"`` on a snapshot)."""
        q = Q(**{f"{prefix}{ids}__in": self.model_ids}) if self.model_ids else Q()
        if self.teams:
            q &= Q(**{f"{prefix}team__slug__in": self.teams})
        if self.tiers:
            q &= Q(**{f"{prefix}risk_tier__in": self.tiers})
        return q

    def query(self) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = {}
        if self.teams:
            out["team"] = self.teams
        if self.tiers:
            out["tier"] = self.tiers
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        return out


@dataclass
class Figure:
    key: str
    label: str
    value: float | None
    unit: str = ""
    previous: float | None = None  # the same figure 30 days before
    help: str = ""
    higher_is_better: bool = False
    values: list[float] = field(default_factory=list)  # the distribution behind a median
    p90: float | None = None
    box: dict | None = None  # {"n", "min", "q1", "median", "q3", "p90", "max"} where a summary suffices

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "previous": self.previous,
            "change": self.change,
            "help": self.help,
            "p90": self.p90,
        }


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default): p50 of [1, 2, 3, 4] is 2.5."""
    return float(np.percentile(values, q)) if values else None


def day_end(day: dt.date) -> dt.datetime:
    """Midnight after ``day``, in the site's time zone: a day's snapshot stands as of then."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_current_timezone())


def range_bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start of ``date_from``, end of ``date_to``): whole days, both included."""
    return day_end(date_from - dt.timedelta(days=1)), day_end(date_to)
