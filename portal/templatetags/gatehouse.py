from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

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


def _number(value: float, unit: str) -> str:
    if unit == "models":
        return f"{int(value):,}"
    return f"{value:,.2f}" if 0 < abs(value) < 1 else f"{value:,.1f}"


@register.filter
def figure_value(figure) -> str:
    """A dashboard figure as text: '12.3 days', '4 models', '—' when there is nothing to measure."""
    if figure.value is None:
        return "—"
    unit = figure.unit
    text = _number(figure.value, unit)
    return f"{text}{unit}" if unit in ("%", "/week") else text


@register.filter
def figure_change(figure):
    """The change against 30 days before, coloured by whether it is good news."""
    change = figure.change
    if change is None:
        return mark_safe('<span class="change muted">no figure 30 days before</span>')  # noqa: S308 - constant
    if abs(change) < 0.05:
        return mark_safe('<span class="change muted">± 0 vs 30 days before</span>')  # noqa: S308 - constant
    good = (change > 0) == figure.higher_is_better
    arrow = "▲" if change > 0 else "▼"
    return format_html('<span class="change {}">{} {} vs 30 days before</span>', "good" if good else "bad", arrow,
                       _number(abs(change), figure.unit if figure.unit == "models" else ""))


@register.filter
def debt_band(index: float) -> str:
    from portal.debt import band

    return band(index)


@register.filter
def component_label(key: str) -> str:
    from portal.debt import LABELS

    return LABELS.get(key, key)


@register.filter
def percent(value: float) -> str:
    return f"{100 * value:.0f}%"


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key, "")


@register.filter
def attr(obj, name: str):
    return getattr(obj, name, None)
