"""Writes owned by the portal app: the audit log, teams and API tokens."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from portal.audit import GENESIS_HASH, event_hash, event_payload
from portal.bulk import bulk_insert
from portal.middleware import current_request_context
from portal.models import AuditEvent, Team

# Any constant works: it names the one advisory lock that serialises appends to the chain on PostgreSQL.
_AUDIT_LOCK_KEY = 0x6A7E_A0D1


def audit_event_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    obj: Any,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the transaction of the change it records."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_event_record must be called inside the transaction of the change")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
    # On SQLite the IMMEDIATE transaction already holds the database's write lock.
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    context = current_request_context()
    event = AuditEvent(
        created_at=timezone.now(),
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_username=actor.get_username() if actor is not None and actor.is_authenticated else "",
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:300],
        before=before,
        after=after,
        request_id=context.request_id if context else "",
        ip=context.ip if context else None,
        prev_hash=last or GENESIS_HASH,
    )
    event.hash = event_hash(event.prev_hash, event_payload(event))
    event.save(force_insert=True)
    return event


@transaction.atomic
def team_create(*, name: str, actor: AbstractBaseUser | None, members: list | None = None) -> Team:
    team = Team(name=name, slug=slugify(name))
    team.full_clean()
    team.save()
    if members:
        team.members.add(*members)
    audit_event_record(
        actor=actor,
        action="portal.team.created",
        obj=team,
        after={"name": team.name, "members": sorted(m.get_username() for m in members or [])},
    )
    return team


@transaction.atomic
def api_token_rotate(*, user: AbstractBaseUser) -> Token:
    """Replace the user's API token; the old one stops working at once."""
    had_token = Token.objects.filter(user=user).delete()[0] > 0
    token = Token.objects.create(user=user)
    audit_event_record(
        actor=user,
        action="portal.token.rotated" if had_token else "portal.token.created",
        obj=user,
        after={"token_prefix": token.key[:6]},
    )
    return token


def debt_snapshot_take(*, day: datetime.date | None = None) -> int:
    """Record every live model's debt at the end of ``day`` (default: today, as it is now) and the day's
    rollups, replacing what that day had. A past day is rebuilt from the history (portal.debt.facts_at).
    Returns the number of models recorded."""
    from portal import debt

    today = timezone.localdate()
    day = day or today
    if day > today:
        raise ValueError("a snapshot of a day that has not happened")
    if day == today:
        at = timezone.now()
        return _debt_day_write(day, debt.debts(debt.facts_now(debt.Scope()), at))
    at = _day_end(day)
    return _debt_day_write(day, debt.debts(debt.facts_at(at), at))


def _day_end(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min,
                                     tzinfo=timezone.get_current_timezone())


def _debt_day_write(day: datetime.date, items) -> int:
    from portal.models import DEBT_COMPONENTS, DebtDay, DebtRollup, DebtSnapshot

    items = [m for m in items if m.facts.live]
    rows = [dict(date=day, model_id=m.facts.id, team_id=m.facts.team_id, risk_tier=m.facts.risk_tier,
                 index=round(m.index, 4), stage=m.facts.stage, shelf_days=m.shelf_days,
                 details={c: m.details[c] for c in DEBT_COMPONENTS if m.components[c] > 0 and c in m.details},
                 **{c: m.components[c] for c in DEBT_COMPONENTS}) for m in items]
    groups: dict[tuple[int, str], dict] = {}
    for m in items:
        g = groups.setdefault((m.facts.team_id, m.facts.risk_tier),
                              {"models_count": 0, "index_sum": 0.0, **dict.fromkeys(DEBT_COMPONENTS, 0.0)})
        g["models_count"] += 1
        g["index_sum"] += m.index
        for c in DEBT_COMPONENTS:
            g[c] += m.components[c]
    with transaction.atomic():
        DebtSnapshot.objects.filter(date=day).delete()
        DebtRollup.objects.filter(date=day).delete()
        bulk_insert(DebtSnapshot, rows)
        DebtRollup.objects.bulk_create([DebtRollup(date=day, team_id=team, risk_tier=tier, **g)
                                        for (team, tier), g in groups.items()])
        DebtDay.objects.update_or_create(date=day, defaults={"models_count": len(rows), "taken_at": timezone.now()})
    # Not audited: a snapshot records derived figures and changes no governed object (a backfill is).
    return len(rows)


def debt_backfill(*, since: datetime.date | None = None, replace: bool = False) -> dict[str, int]:
    """Snapshots of every past day from ``since`` (default: the first audit event or model) to yesterday, rebuilt
    from the history, so the trend is real from the first day. Days that have one are kept unless
    ``replace``."""
    from portal.models import DebtDay
    from registry.models import RegisteredModel

    firsts = [AuditEvent.objects.order_by("id").values_list("created_at", flat=True).first(),
              RegisteredModel.objects.order_by("created_at").values_list("created_at", flat=True).first()]
    today = timezone.localdate()
    start = since or min([timezone.localdate(f) for f in firsts if f] or [today])
    # Days done are marked in DebtDay, even those with no live model, so they are never redone.
    have = set() if replace else set(DebtDay.objects.filter(date__gte=start).values_list("date", flat=True))
    from portal import debt

    days = [start + datetime.timedelta(days=n) for n in range((today - start).days)]
    days = [d for d in days if d not in have]
    taken = models = 0
    # One sweep over the history for all the days (portal.debt.facts_series), not one read per day.
    for day, (at, facts) in zip(days, debt.facts_series([_day_end(d) for d in days]), strict=True):
        models += _debt_day_write(day, debt.debts(facts, at))
        taken += 1
    if taken and replace:  # rewriting recorded history is worth a line in the audit log; filling gaps is not
        with transaction.atomic():
            audit_event_record(actor=None, action="portal.debt.backfilled", obj=_DebtDay(today),
                               after={"since": start.isoformat(), "days": taken, "rows": models})
    return {"days": taken, "rows": models}


class _DebtDay:
    """What the audit log names for a snapshot: the day."""

    class _meta:  # noqa: N801 - quacks like a model's _meta for audit_event_record
        label_lower = "portal.debtsnapshot"

    def __init__(self, day: datetime.date):
        self.pk = day.isoformat()

    def __str__(self) -> str:
        return f"Debt snapshot of {self.pk}"


@contextlib.contextmanager
def exclusive(name: str):
    """Run at most one holder of ``name`` at a time across processes; yields False (and does nothing) when
    another holds it. PostgreSQL advisory lock; elsewhere (SQLite: one embedded worker) always True."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        got = cursor.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
