from __future__ import annotations

from django import forms
from django.utils.text import slugify

from registry.models import MODEL_CARD_FIELDS, ModelVersion, RegisteredModel

CARD_HELP = {
    "intended_use": "Who uses the model, for which decisions, in which process.",
    "out_of_scope_use": "Uses the model was not built or validated for.",
    "training_data": "Where the training data came from, time span, size, known gaps.",
    "evaluation_data": "Which data the reported metrics were computed on, and why it is representative.",
    "metrics_description": "Which metrics matter for this use and why; the thresholds that are acceptable.",
    "limitations": "Known failure modes, populations or conditions where it performs worse.",
    "ethical_considerations": "Sensitive attributes, fairness checks, possible harms and mitigations.",
    "caveats": "Anything else a reviewer should know.",
}


class TagsField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value) or ""
        return sorted({slugify(part)[:50] for part in value.replace(";", ",").split(",") if slugify(part)})

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value


class RegisteredModelForm(forms.ModelForm):
    tags = TagsField(required=False, help_text="Comma-separated, e.g. churn, marketing, tabular.")

    class Meta:
        model = RegisteredModel
        fields = ["name", "team", "description", "task_type", "risk_tier", "refresh_interval_days", *MODEL_CARD_FIELDS]
        widgets = {field: forms.Textarea(attrs={"rows": 3}) for field in MODEL_CARD_FIELDS}
        help_texts = {
            "name": "Unique across the company, lowercase with hyphens: it appears in URLs and API paths.",
            **CARD_HELP,
        }

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["refresh_interval_days"].min_value = 1
        self.fields["refresh_interval_days"].widget.attrs["min"] = 1
        if self.instance.pk:
            # Name and team are the model's identity; they do not change after registration.
            del self.fields["name"]
            del self.fields["team"]
            self.initial.setdefault("tags", list(self.instance.tags.values_list("name", flat=True)))
        elif teams is not None:
            self.fields["team"].queryset = teams
            if len(teams) == 1:
                self.fields["team"].initial = teams[0]

    def identity_fields(self):
        return [self[name] for name in self.fields if name not in MODEL_CARD_FIELDS]

    def card_fields(self):
        return [self[name] for name in MODEL_CARD_FIELDS]


class ModelVersionForm(forms.Form):
    artifact = forms.FileField(
        label="ONNX file",
        help_text="The model exported to ONNX (.onnx). Pickles and framework checkpoints are refused.",
        widget=forms.ClearableFileInput(attrs={"accept": ".onnx"}),
    )
    source_code_url = forms.URLField(label="Source code URL", required=False, max_length=500, assume_scheme="https")
    source_commit = forms.RegexField(
        label="Commit",
        required=False,
        max_length=64,
        regex=r"^[0-9a-fA-F]{7,64}$",
        error_messages={"invalid": "A commit is 7 to 64 hexadecimal characters (git rev-parse HEAD)."},
    )
    training_run_url = forms.URLField(label="Training run URL", required=False, max_length=500, assume_scheme="https")
    training_data_ref = forms.CharField(
        label="Training data",
        required=False,
        max_length=500,
        help_text="Where the training data is: a table, a path with a date, a dataset version.",
    )
    trained_at = forms.DateTimeField(
        label="Trained at",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="When training finished; staleness is counted from it.",
    )
    parent_number = forms.TypedChoiceField(label="Based on version", required=False, coerce=int, empty_value=None)
    metrics = forms.CharField(
        label="Offline metrics",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "accuracy = 0.953\nroc_auc = 0.991"}),
        help_text="One per line: name = value.",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, model: RegisteredModel, **kwargs):
        super().__init__(*args, **kwargs)
        numbers = ModelVersion.objects.filter(model=model).order_by("-number").values_list("number", flat=True)
        self.fields["parent_number"].choices = [("", "—")] + [(n, f"v{n}") for n in numbers]

    def clean_metrics(self) -> dict[str, float]:
        parsed: dict[str, float] = {}
        for lineno, line in enumerate(self.cleaned_data["metrics"].splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            name, sep, value = line.replace(":", "=", 1).partition("=")
            name, value = name.strip(), value.strip()
            if not sep or not name or not value:
                raise forms.ValidationError(f"Line {lineno}: write name = value, e.g. accuracy = 0.95.")
            try:
                number = float(value)
            except ValueError:
                raise forms.ValidationError(f"Line {lineno}: '{value}' is not a number.") from None
            if number != number or abs(number) == float("inf"):
                raise forms.ValidationError(f"Line {lineno}: '{value}' is not a finite number.")
            if name in parsed:
                raise forms.ValidationError(f"Line {lineno}: '{name}' is given twice.")
            parsed[name] = number
        return parsed


class DatasetForm(forms.Form):
    name = forms.SlugField(
        max_length=100,
        help_text="Short and unique for this model, e.g. holdout-2026q3.",
        error_messages={"invalid": "Use letters, digits, hyphens and underscores only, e.g. holdout-2026q3."},
    )
    description = forms.CharField(required=False, max_length=300)
    file = forms.FileField(
        help_text="CSV with a header row, or Parquet.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.parquet"}),
    )
    label_column = forms.CharField(max_length=200, help_text="The column that holds the true labels or targets.")
