from django import forms

from approvals.choices import DecisionKind


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
