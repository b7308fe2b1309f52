from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from portal.core.models import Team
from portal.dashboard.figures import Scope
from registry.choices import RiskTier

EARLIEST = dt.date(2000, 1, 1)


class DashboardFilterForm(forms.Form):
    """The dashboard's filters; they apply to every figure, chart, table, drill-down and export."""

    team = forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        label="Teams",
        widget=forms.CheckboxSelectMultiple,  # a list to tick, not a box that needs Ctrl-click
    )
    tier = forms.MultipleChoiceField(
        choices=RiskTier.choices, required=False, label="Risk tiers", widget=forms.CheckboxSelectMultiple
    )
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, **kwargs):
        if data is not None:  # the short names used in links: ?from=…&to=…
            data = data.copy()
            for short, name in (("from", "date_from"), ("to", "date_to")):
                if short in data and name not in data:
                    data[name] = data[short]
        super().__init__(data, **kwargs)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_from", "The range starts after it ends.")
        for name in ("date_from", "date_to"):
            if cleaned.get(name) and cleaned[name] < EARLIEST:
                self.add_error(name, f"Choose a date from {EARLIEST:%Y-%m-%d} on.")
        today = timezone.localdate()
        for name in ("date_from", "date_to"):
            if cleaned.get(name) and cleaned[name] > today and name not in self.errors:
                self.add_error(name, f"Choose a day up to today ({today:%Y-%m-%d}): there is no debt to show yet.")
        return cleaned

    def scope(self) -> Scope:
        data = self.cleaned_data
        return Scope(
            teams=[t.slug for t in data.get("team") or []],
            tiers=list(data.get("tier") or []),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
