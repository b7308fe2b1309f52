"""Filters for the dashboard's figures, and the model-debt panel other apps' pages show."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from portal.dashboard.board import model_debt
from portal.dashboard.formula import LABELS, band

register = template.Library()


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
    return format_html(
        '<span class="change {}">{} {} vs 30 days before</span>',
        "good" if good else "bad",
        arrow,
        _number(abs(change), figure.unit if figure.unit == "models" else ""),
    )


@register.filter
def debt_band(index: float) -> str:
    return band(index)


@register.filter
def component_label(key: str) -> str:
    return LABELS.get(key, key)


@register.inclusion_tag("portal/_model_debt.html", takes_context=True)
def model_debt_panel(context, model) -> dict:
    """The model's live debt, for its page in the registry."""
    return {"debt": model_debt(model.pk), "model": model, "nav": context.get("nav", {})}
