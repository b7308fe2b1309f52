from __future__ import annotations

from django import forms

from imports.choices import NameConflict
from portal.core.models import Team
from registry.choices import RiskTier, TaskType


class ImportForm(forms.Form):
    url = forms.URLField(label="MLflow tracking server", max_length=300, assume_scheme="http")
    model = forms.CharField(label="Only this registered model", required=False, max_length=500)
    default_team = forms.ModelChoiceField(Team.objects.all(), required=False, to_field_name="slug")
    team_prefixes = forms.CharField(
        label="Teams by name prefix",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One prefix=team-slug per line, e.g. fraud-=fraud-team",
    )
    team_tag = forms.CharField(label="Team from the MLflow tag", required=False, max_length=100)
    risk_tier = forms.ChoiceField(choices=RiskTier.choices, initial=RiskTier.MEDIUM)
    task_type = forms.ChoiceField(choices=TaskType.choices, initial=TaskType.OTHER)
    name_conflict = forms.ChoiceField(choices=NameConflict.choices, initial=NameConflict.REFUSE)
    sync_enabled = forms.BooleanField(label="Sync new versions on a schedule", required=False)
    dry_run = forms.BooleanField(label="Dry run: list what would happen, write nothing", required=False)
