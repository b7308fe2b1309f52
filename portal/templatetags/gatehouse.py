"""Filters every page may use."""

from __future__ import annotations

from django import template

from portal.core.audit import action_label
from portal.core.calendar import working_days as _working_days

register = template.Library()


@register.filter
def changes(event) -> list[tuple[str, object, object]]:
    """An audit event's change as (field, before, after) rows; unchanged empty values are left out."""
    before = event.before or {}
    after = event.after or {}
    rows = []
    for key in list(after) + [k for k in before if k not in after]:
        old, new = before.get(key), after.get(key)
        if old in (None, "", [], {}) and new in (None, "", [], {}):
            continue
        rows.append((key, old if key in before else None, new))
    return rows


@register.filter
def audit_label(action: str) -> str:
    return action_label(action)


@register.filter
def working_days(moment) -> int:
    return _working_days(moment)


@register.filter
def percent(value: float) -> str:
    return f"{100 * value:.0f}%"


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key, "")


@register.filter
def attr(obj, name: str):
    return getattr(obj, name, None)
