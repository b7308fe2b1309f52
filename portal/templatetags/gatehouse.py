from __future__ import annotations

from django import template

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
def working_days(moment) -> int:
    from approvals.selectors import working_days_since

    return working_days_since(moment)
