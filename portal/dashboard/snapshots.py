"""Writes of the debt history: today's snapshot (beat, every few minutes), a past day, and the backfill.

A snapshot records derived figures and changes no governed object, so taking one is not audited; rewriting
recorded history (a backfill with ``replace``) is.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from portal.core.bulk import bulk_insert
from portal.core.models import AuditEvent
from portal.core.services import audit_event_record
from portal.dashboard.choices import AuditAction
from portal.dashboard.facts import facts_at, facts_now, facts_series
from portal.dashboard.figures import Scope, day_end
from portal.dashboard.formula import DEBT_COMPONENTS, ModelDebt, debts
from portal.dashboard.models import DebtDay, DebtRollup, DebtSnapshot
from registry.models import RegisteredModel


def debt_snapshot_take(*, day: dt.date | None = None) -> int:
    """Record every live model's debt at the end of ``day`` (default: today, as it is now) and the day's
    rollups, replacing what that day had. A past day is rebuilt from the history. Returns the number of
    models recorded."""
    today = timezone.localdate()
    day = day or today
    if day > today:
        raise ValueError("a snapshot of a day that has not happened")
    if day == today:
        at = timezone.now()
        return _day_write(day, debts(facts_now(Scope(), at=at), at))
    at = day_end(day)
    return _day_write(day, debts(facts_at(at), at))


def debt_snapshot_refresh(*, model_ids: list[int]) -> int:
    """Bring today's snapshot up to date for these models now (a release moved them), so every figure on the
    dashboard stands at the same moment: their rows are replaced and the day's rollups summed again. Nothing
    happens before today's first snapshot (beat takes it within minutes; a backfill must not find a partial
    day). Returns the number of rows written."""
    today = timezone.localdate()
    if not DebtDay.objects.filter(date=today).exists():
        return 0
    at = timezone.now()
    items = [m for m in debts(facts_now(Scope(model_ids=model_ids), at=at), at) if m.facts.live]
    with transaction.atomic():
        DebtSnapshot.objects.filter(date=today, model_id__in=model_ids).delete()
        bulk_insert(DebtSnapshot, [_row(today, m) for m in items])
        DebtRollup.objects.filter(date=today).delete()
        DebtRollup.objects.bulk_create(_rollups_from_rows(today))
        DebtDay.objects.filter(date=today).update(
            models_count=DebtSnapshot.objects.filter(date=today).count(), taken_at=at
        )
    return len(items)


def _rollups_from_rows(day: dt.date) -> list[DebtRollup]:
    """The day's rollups, summed by the database from its snapshot rows."""
    sums = (
        DebtSnapshot.objects.filter(date=day)
        .values("team_id", "risk_tier")
        .annotate(models_count=Count("id"), index_sum=Sum("index"), **{c: Sum(c) for c in DEBT_COMPONENTS})
        .order_by()
    )
    return [DebtRollup(date=day, **row) for row in sums]


def _row(day: dt.date, m: ModelDebt) -> dict:
    return dict(
        date=day,
        model_id=m.facts.id,
        team_id=m.facts.team_id,
        risk_tier=m.facts.risk_tier,
        index=round(m.index, 4),
        stage=m.facts.stage,
        shelf_days=m.shelf_days,
        details={c: m.details[c] for c in DEBT_COMPONENTS if m.components[c] > 0 and c in m.details},
        **{c: m.components[c] for c in DEBT_COMPONENTS},
    )


def _rollups(day: dt.date, items: list[ModelDebt]) -> list[DebtRollup]:
    groups: dict[tuple[int, str], dict] = {}
    for m in items:
        g = groups.setdefault(
            (m.facts.team_id, m.facts.risk_tier),
            {"models_count": 0, "index_sum": 0.0, **dict.fromkeys(DEBT_COMPONENTS, 0.0)},
        )
        g["models_count"] += 1
        g["index_sum"] += m.index
        for c in DEBT_COMPONENTS:
            g[c] += m.components[c]
    return [DebtRollup(date=day, team_id=team, risk_tier=tier, **g) for (team, tier), g in groups.items()]


def _day_write(day: dt.date, items: list[ModelDebt]) -> int:
    items = [m for m in items if m.facts.live]
    rows = [_row(day, m) for m in items]
    with transaction.atomic():
        DebtSnapshot.objects.filter(date=day).delete()
        DebtRollup.objects.filter(date=day).delete()
        bulk_insert(DebtSnapshot, rows)
        DebtRollup.objects.bulk_create(_rollups(day, items))
        DebtDay.objects.update_or_create(date=day, defaults={"models_count": len(rows), "taken_at": timezone.now()})
    return len(rows)


def debt_backfill(*, since: dt.date | None = None, replace: bool = False) -> dict[str, int]:
    """Snapshots of every past day from ``since`` (default: the first audit event or model) to yesterday, rebuilt
    from the history, so the trend is real from the first day. Days that have one are kept unless
    ``replace``."""
    firsts = [
        AuditEvent.objects.order_by("id").values_list("created_at", flat=True).first(),
        RegisteredModel.objects.order_by("created_at").values_list("created_at", flat=True).first(),
    ]
    today = timezone.localdate()
    start = since or min([timezone.localdate(f) for f in firsts if f] or [today])
    # Days done are marked in DebtDay, even those with no live model, so they are never redone.
    have = set() if replace else set(DebtDay.objects.filter(date__gte=start).values_list("date", flat=True))
    days = [d for d in (start + dt.timedelta(days=n) for n in range((today - start).days)) if d not in have]
    taken = rows = 0
    # One sweep over the history for all the days, not one read per day.
    for day, (at, facts) in zip(days, facts_series([day_end(d) for d in days]), strict=True):
        rows += _day_write(day, debts(facts, at))
        taken += 1
    if taken and replace:  # rewriting recorded history is worth a line in the audit log; filling gaps is not
        with transaction.atomic():
            audit_event_record(
                actor=None,
                action=AuditAction.DEBT_BACKFILLED,
                obj=_DebtDay(today),
                after={"since": start.isoformat(), "days": taken, "rows": rows},
            )
    return {"days": taken, "rows": rows}


class _DebtDay:
    """What the audit log names for a snapshot: the day."""

    class _meta:  # noqa: N801 - quacks like a model's _meta for audit_event_record
        label_lower = "portal.debtsnapshot"

    def __init__(self, day: dt.date):
        self.pk = day.isoformat()

    def __str__(self) -> str:
        return f"Debt snapshot of {self.pk}"
