import datetime as dt

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.choices import DecisionKind, Severity
from approvals.finding_rules import DUE_DAYS


class RequestForm(forms.Form):
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=10,
        help_text="Why this version should move: what changed, what the evidence shows, who is affected.",
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=DecisionKind.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Required when you reject: the requester acts on it.",
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(required=False, max_length=300)


class FindingForm(forms.Form):
    title = forms.CharField(max_length=200, min_length=5, help_text="One line a reader understands without context.")
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What you found, where, and what it puts at risk; how to reproduce it.",
    )
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        to_field_name="username",
        help_text="Who must remediate it (the model's owner unless you choose).",
    )
    due_date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=f"Offered by severity: {', '.join(f'{s} {d} days' for s, d in DUE_DAYS.items())}.",
    )

    @staticmethod
    def initial_for(model, severity: str = Severity.MEDIUM) -> dict:
        return {
            "owner": model.owner.get_username(),
            "severity": severity,
            "due_date": timezone.localdate() + dt.timedelta(days=DUE_DAYS[severity]),
        }


class FindingStepForm(forms.Form):
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class FindingCommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Comment")
