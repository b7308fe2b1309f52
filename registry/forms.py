from __future__ import annotations

import re

from django import forms
from django.utils.text import slugify

from portal.core.errors import ApplicationError
from registry.choices import RiskTier
from registry.models import MODEL_CARD_FIELDS, ModelVersion, RegisteredModel
from registry.services.job_parameters import floors_check, parse_batch_sizes

THRESHOLD_FIELDS = ("metric_floors", "noninferiority_margin", "slo_p99_latency_ms", "slo_min_throughput")

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
        return sorted({slugify(part) for part in value.replace(";", ",").split(",") if slugify(part)})

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value


class RegisteredModelForm(forms.ModelForm):
    tags = TagsField(required=False, help_text="Comma-separated, e.g. churn, marketing, tabular.")
    metric_floors = forms.CharField(
        label="Validation floors",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line, e.g. accuracy = 0.9; for rmse, mae and log_loss the value is a ceiling.",
    )

    class Meta:
        model = RegisteredModel
        fields = [
            "name",
            "team",
            "description",
            "task_type",
            "risk_tier",
            "refresh_interval_days",
            "metric_floors",
            "noninferiority_margin",
            "slo_p99_latency_ms",
            "slo_min_throughput",
            *MODEL_CARD_FIELDS,
        ]
        widgets = {field: forms.Textarea(attrs={"rows": 3}) for field in MODEL_CARD_FIELDS}
        help_texts = {
            "name": "Unique across the company, lowercase with hyphens: it appears in URLs and API paths.",
            **CARD_HELP,
        }

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["refresh_interval_days"].min_value = 1
        self.fields["refresh_interval_days"].widget.attrs["min"] = 1
        self.fields["noninferiority_margin"].required = False
        if self.instance.pk:
            # Name and team are the model's identity; they do not change after registration.
            del self.fields["name"]
            del self.fields["team"]
            self.initial.setdefault("tags", list(self.instance.tags.values_list("name", flat=True)))
            self.initial["metric_floors"] = "\n".join(f"{k} = {v}" for k, v in self.instance.metric_floors.items())
        elif teams is not None:
            self.fields["team"].queryset = teams
            if len(teams) == 1:
                self.fields["team"].initial = teams[0]
        fit_rows(self.fields["metric_floors"], self.data.get("metric_floors") or self.initial.get("metric_floors"))

    def clean_noninferiority_margin(self) -> float:
        value = self.cleaned_data.get("noninferiority_margin")
        return RegisteredModel._meta.get_field("noninferiority_margin").default if value is None else value

    def clean_metric_floors(self) -> dict[str, float]:
        return parse_name_values(self.cleaned_data["metric_floors"] or "")

    def clean(self):
        """The floors against the task type in the same round as every other field: one set of corrections."""
        cleaned = super().clean()
        floors = cleaned.get("metric_floors")
        task_type = cleaned.get("task_type") or getattr(self.instance, "task_type", None)
        if floors and task_type and "metric_floors" not in self.errors:
            try:
                cleaned["metric_floors"] = floors_check(floors, task_type)
            except ApplicationError as exc:
                self.add_error("metric_floors", exc.message)
        return cleaned

    def identity_fields(self):
        return [self[name] for name in self.fields if name not in (*MODEL_CARD_FIELDS, *THRESHOLD_FIELDS)]

    def threshold_fields(self):
        return [self[name] for name in THRESHOLD_FIELDS]

    def card_fields(self):
        return [self[name] for name in MODEL_CARD_FIELDS]


class RiskTierLowerForm(forms.Form):
    """IT operations or a risk reviewer lowers a model's tier, saying why (registry.services.risk_tier_lower)."""

    risk_tier = forms.ChoiceField(label="Lower the risk tier to")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        min_length=10,
        help_text="Why the model's risk is lower now: the audit log keeps it.",
    )

    def __init__(self, *args, model: RegisteredModel, **kwargs):
        super().__init__(*args, **kwargs)
        below = RiskTier.values[: RiskTier.values.index(model.risk_tier)]
        self.fields["risk_tier"].choices = [(tier, RiskTier(tier).label) for tier in reversed(below)]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Any number of files in one field (Django's documented pattern for <input type=file multiple>)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files if f]


class ModelVersionForm(forms.Form):
    artifact = forms.FileField(
        required=False,
        label="ONNX file",
        help_text="The model exported to ONNX (.onnx). Pickles and framework checkpoints are refused.",
        widget=forms.ClearableFileInput(attrs={"accept": ".onnx"}),
    )
    data = MultipleFileField(
        label="External data files",
        required=False,
        help_text="Only for a model whose weights live outside the graph (every model over 2 GB): the files its "
        "tensors name, such as model.onnx.data. The version's digest then covers every file.",
    )
    signature = forms.FileField(
        label="Model signature",
        required=False,
        help_text="Optional: the OpenSSF model-signing bundle of these files (model_signing sign key --private_key …), "
        "checked against your signing key before the version is accepted. Some risk tiers require one.",
        widget=forms.ClearableFileInput(attrs={"accept": ".sig,.json"}),
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
    # Filled by the page's script when it sent the files as resumable uploads (static/js/upload.js).
    artifact_upload = forms.UUIDField(required=False, widget=forms.HiddenInput)
    data_uploads = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, model: RegisteredModel, **kwargs):
        super().__init__(*args, **kwargs)
        numbers = ModelVersion.objects.filter(model=model).order_by("-number").values_list("number", flat=True)
        self.fields["parent_number"].choices = [("", "—")] + [(n, f"v{n}") for n in numbers]

    def clean_metrics(self) -> dict[str, float]:
        return parse_name_values(self.cleaned_data["metrics"])

    def clean_data_uploads(self) -> list[str]:
        return [part.strip() for part in self.cleaned_data["data_uploads"].split(",") if part.strip()]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("artifact") and not cleaned.get("artifact_upload") and "artifact" not in self.errors:
            self.add_error("artifact", "Choose the model's .onnx file.")
        return cleaned


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


# name = value, name: value, and for floors name >= value (≥, or <= ≤ for the metrics that are ceilings): the
# direction is the metric's own, so the sign is read and not needed.
_NAME_VALUE = re.compile(r"^\s*(?P<name>[^=:<>≥≤\s][^=:<>≥≤]*?)\s*(?:>=|<=|=|:|≥|≤)\s*(?P<value>\S.*?)\s*$")


def fit_rows(field: forms.Field, text: str | None, *, least: int = 2) -> None:
    """A text box as tall as its lines, so none is hidden behind a scroll bar."""
    field.widget.attrs["rows"] = max(least, len((text or "").splitlines()) + 1)


def parse_name_values(text: str, *, what: str = "value") -> dict[str, float]:
    """Lines of ``name = value`` (or ``name: value``, ``name >= value``) into a dict, with line-numbered errors."""
    parsed: dict[str, float] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _NAME_VALUE.match(line)
        name, value = (match["name"], match["value"]) if match else ("", "")
        if not name or not value:
            raise forms.ValidationError(
                f"Line {lineno}: write name = {what} (or name >= {what}), e.g. accuracy >= 0.95."
            )
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


class ValidationJobForm(forms.Form):
    dataset = forms.ModelChoiceField(queryset=None, empty_label=None, help_text="Every row is run through the model.")
    floors = forms.CharField(
        label="Metric floors",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, e.g. accuracy = 0.9. For rmse, mae and log_loss the value is a ceiling. "
        "Defaults to the model's floors.",
    )
    margin = forms.FloatField(
        label="Non-inferiority margin",
        min_value=0,
        help_text="How much worse than the production version a metric may be.",
    )

    def __init__(self, *args, version: ModelVersion, **kwargs):
        super().__init__(*args, **kwargs)
        model = version.model
        self.fields["dataset"].queryset = model.datasets.order_by("name")
        self.fields["dataset"].label_from_instance = lambda d: (
            f"{d.name} ({d.row_count:,} rows, label {d.label_column})"
        )
        self.fields["floors"].initial = "\n".join(f"{k} = {v}" for k, v in model.metric_floors.items())
        fit_rows(self.fields["floors"], self.fields["floors"].initial, least=3)
        self.fields["margin"].initial = model.noninferiority_margin

    def clean_floors(self) -> dict[str, float]:
        return parse_name_values(self.cleaned_data["floors"])


class BenchmarkJobForm(forms.Form):
    device = forms.ChoiceField(help_text="Only what a worker online can run is offered, and what the policy needs.")
    batch_sizes = forms.CharField(initial="1, 8, 32", help_text="Comma-separated, 1 to 4096.")
    min_seconds = forms.FloatField(label="Measured phase at least (s)", initial=3.0, min_value=0.1, max_value=600)
    min_iterations = forms.IntegerField(
        label="…and at least (iterations)", initial=100, min_value=10, max_value=1_000_000
    )
    warmup_ms = forms.IntegerField(label="Warm-up (ms)", initial=200, min_value=0, max_value=60_000)
    dims = forms.CharField(
        label="Other dimensions",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "sequence = 128, 512"}),
        help_text="For a model with symbolic dimensions besides the batch: one per line, name = sizes; every "
        "batch size runs at each.",
    )
    input_ranges = forms.CharField(
        label="Integer input ranges",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "input_ids = 0..30522"}),
        help_text="Token ids and other integer inputs are drawn from low (included) to high (excluded); "
        "0..10 when not given.",
    )
    tensorrt_fp16 = forms.BooleanField(label="TensorRT: FP16 kernels", required=False)
    tensorrt_engine_cache = forms.BooleanField(
        label="TensorRT: keep engines on the node", required=False, help_text="Applies where TensorRT runs."
    )

    def __init__(self, *args, offer, **kwargs):
        """``offer``: registry.selectors.benchmark_device_offer, the devices online now and the default."""
        super().__init__(*args, **kwargs)
        self.fields["device"].choices = offer.choices
        self.fields["device"].initial = offer.default

    def clean_batch_sizes(self) -> list[int]:
        try:
            sizes = parse_batch_sizes(self.cleaned_data["batch_sizes"])
        except ApplicationError:
            raise forms.ValidationError("Write whole numbers separated by commas, e.g. 1, 8, 32.") from None
        if not sizes or any(not 1 <= s <= 4096 for s in sizes):
            raise forms.ValidationError("Each batch size is between 1 and 4096.")
        return sizes

    @staticmethod
    def _lines(text: str, example: str) -> list[tuple[str, str]]:
        pairs = []
        for line in text.splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                raise forms.ValidationError(f"Write one per line as name = value, e.g. {example}.")
            pairs.append((name.strip(), value.strip()))
        return pairs

    def clean_dims(self) -> dict[str, list[int]]:
        dims = {}
        for name, value in self._lines(self.cleaned_data["dims"], "sequence = 128, 512"):
            try:
                dims[name] = [int(v) for v in re.split(r"[,\s]+", value) if v]
            except ValueError:
                raise forms.ValidationError(f"{name}: write whole numbers separated by commas.") from None
        return dims

    def clean_input_ranges(self) -> dict[str, list[int]]:
        ranges = {}
        for name, value in self._lines(self.cleaned_data["input_ranges"], "input_ids = 0..30522"):
            found = re.fullmatch(r"(-?\d+)\s*(?:\.\.|,)\s*(-?\d+)", value)
            if not found:
                raise forms.ValidationError(f"{name}: write low..high, e.g. 0..30522.")
            ranges[name] = [int(found.group(1)), int(found.group(2))]
        return ranges

    def parameters(self) -> dict:
        """The job's parameters (registry.services.jobs checks them against the model's signature)."""
        data = self.cleaned_data
        tensorrt = {k: True for k in ("fp16", "engine_cache") if data[f"tensorrt_{k}"]}
        return {
            **{k: data[k] for k in ("batch_sizes", "min_seconds", "min_iterations", "warmup_ms")},
            **({"dims": data["dims"]} if data["dims"] else {}),
            **({"input_ranges": data["input_ranges"]} if data["input_ranges"] else {}),
            **({"tensorrt": tensorrt} if tensorrt else {}),
        }
