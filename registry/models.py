from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse

from registry.choices import ArtifactFormat, DatasetFormat, RiskTier, Stage, TaskType

MODEL_CARD_FIELDS = (
    "intended_use",
    "out_of_scope_use",
    "training_data",
    "evaluation_data",
    "metrics_description",
    "limitations",
    "ethical_considerations",
    "caveats",
)

sha256_validator = RegexValidator(r"^[0-9a-f]{64}$", "A SHA-256 digest is 64 lowercase hexadecimal characters.")
model_name_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$",
    "Use lowercase letters, digits and hyphens (e.g. churn-predictor); start and end with a letter or digit.",
)


class Tag(models.Model):
    name = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RegisteredModel(models.Model):
    """A model and its model card. Versions carry the artifacts; the card describes them all."""

    name = models.CharField(
        max_length=100,
        unique=True,
        validators=[model_name_validator],
        error_messages={"unique": "A model with this name is already registered; choose another name."},
    )
    team = models.ForeignKey("portal.Team", on_delete=models.PROTECT, related_name="models")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_models")
    description = models.CharField(max_length=300, blank=True)
    risk_tier = models.CharField(max_length=10, choices=RiskTier.choices, default=RiskTier.MEDIUM, db_index=True)
    task_type = models.CharField(max_length=30, choices=TaskType.choices)
    refresh_interval_days = models.PositiveIntegerField(
        default=180,
        validators=[MinValueValidator(1)],
        help_text="How often the model should be retrained; past it the model counts as stale.",
    )
    tags = models.ManyToManyField(Tag, related_name="models", blank=True)

    # Model card (Mitchell et al., "Model Cards for Model Reporting").
    intended_use = models.TextField(blank=True)
    out_of_scope_use = models.TextField(blank=True)
    training_data = models.TextField(blank=True)
    evaluation_data = models.TextField(blank=True)
    metrics_description = models.TextField("metrics", blank=True)
    limitations = models.TextField(blank=True)
    ethical_considerations = models.TextField(blank=True)
    caveats = models.TextField(blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_models")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("registry:model-detail", kwargs={"name": self.name})

    @property
    def card_missing(self) -> list[str]:
        return [str(self._meta.get_field(f).verbose_name) for f in MODEL_CARD_FIELDS if not getattr(self, f).strip()]

    @property
    def card_complete(self) -> bool:
        return not self.card_missing


class ModelVersion(models.Model):
    """An immutable artifact of a model: a new file is a new version, numbered by the server."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.DESIGN, db_index=True)

    artifact = models.FileField(max_length=300)
    format = models.CharField(max_length=12, choices=ArtifactFormat.choices, default=ArtifactFormat.ONNX)
    sha256 = models.CharField(max_length=64, validators=[sha256_validator], db_index=True)
    size_bytes = models.BigIntegerField()
    # Read from the graph: {"inputs": [{name, dtype, shape}], "outputs": [...]}; shape items are ints or
    # symbolic names (str) or null when unknown.
    signature = models.JSONField(default=dict)
    opsets = models.JSONField(default=dict, help_text="Opset version per operator domain.")
    ir_version = models.PositiveIntegerField(null=True)
    producer = models.CharField(max_length=200, blank=True)

    # Lineage
    source_code_url = models.URLField(max_length=500, blank=True)
    source_commit = models.CharField(max_length=64, blank=True)
    training_run_url = models.URLField(max_length=500, blank=True)
    training_data_ref = models.CharField(max_length=500, blank=True)
    trained_at = models.DateTimeField(null=True, blank=True)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, related_name="children", null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="Offline metrics reported by the submitter.")
    notes = models.TextField(blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_versions")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["model", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["model", "number"], name="registry_version_unique_number"),
            models.UniqueConstraint(
                fields=["model"],
                condition=models.Q(stage=Stage.PRODUCTION),
                name="registry_version_one_production",
                violation_error_message="A model has at most one version in production.",
            ),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="registry_version_number_positive"),
            models.CheckConstraint(condition=models.Q(size_bytes__gt=0), name="registry_version_size_positive"),
        ]
        indexes = [models.Index(fields=["model", "stage"], name="registry_version_stage_idx")]
        permissions = [("download_artifact", "Can download version artifacts and datasets")]

    def __str__(self) -> str:
        return f"{self.model.name} v{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("registry:version-detail", kwargs={"name": self.model.name, "number": self.number})


class Dataset(models.Model):
    """A validation dataset attached to a model (CSV or Parquet), described by its schema."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="datasets")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    file = models.FileField(max_length=300)
    format = models.CharField(max_length=10, choices=DatasetFormat.choices)
    sha256 = models.CharField(max_length=64, validators=[sha256_validator], db_index=True)
    size_bytes = models.BigIntegerField()
    row_count = models.BigIntegerField()
    columns = models.JSONField(default=list, help_text='[{"name": ..., "dtype": ...}] in file order.')
    label_column = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_datasets")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["model", "name"]
        constraints = [
            models.UniqueConstraint(fields=["model", "name"], name="registry_dataset_unique_name"),
            models.CheckConstraint(condition=models.Q(row_count__gt=0), name="registry_dataset_rows_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.model.name}/{self.name}"

    def get_absolute_url(self) -> str:
        return reverse("registry:dataset-detail", kwargs={"name": self.model.name, "pk": self.pk})
