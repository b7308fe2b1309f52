from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse

from fleet.devices import CPU
from registry.choices import (
    FINISHED_STATUSES,
    ArtifactFormat,
    DatasetFormat,
    JobKind,
    JobStatus,
    RiskTier,
    Stage,
    TaskType,
    Verdict,
)
from registry.evidence.devices import ran_on
from registry.querysets import JobQuerySet, ModelVersionQuerySet

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

    # Evidence thresholds (validation and benchmark verdicts are judged against these).
    metric_floors = models.JSONField(
        default=dict,
        blank=True,
        help_text='Validation floors, e.g. {"accuracy": 0.9}; for rmse, mae and log_loss the value is a ceiling.',
    )
    noninferiority_margin = models.FloatField(
        default=0.01,
        validators=[MinValueValidator(0)],
        help_text="A candidate may be worse than the production version by at most this much on each metric.",
    )
    slo_p99_latency_ms = models.FloatField(
        "SLO: p99 latency at batch 1 (ms)", null=True, blank=True, validators=[MinValueValidator(0)]
    )
    slo_min_throughput = models.FloatField(
        "SLO: throughput at the largest batch (samples/s)", null=True, blank=True, validators=[MinValueValidator(0)]
    )

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

    # Milestones, kept by the services as they happen (registry.services.models.model_milestone_record) and
    # rebuilt from the history by approvals.milestones.rebuild, so the flow metrics read one row per model.
    first_version_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_test_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_production_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["first_version_at"], name="registry_model_first_v_idx"),
            models.Index(fields=["first_production_at"], name="registry_model_first_prod_idx"),
            # LIKE 'prefix%' (?name_prefix=) on PostgreSQL: the unique index follows the collation and cannot
            # serve it; elsewhere the operator class is ignored.
            models.Index(fields=["name"], name="registry_model_name_prefix_idx", opclasses=["varchar_pattern_ops"]),
        ]

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

    artifact = models.FileField(max_length=300, help_text="The ONNX file; a set's data files lie beside it.")
    format = models.CharField(max_length=12, choices=ArtifactFormat.choices, default=ArtifactFormat.ONNX)
    # The version's digest (registry/manifests.py): one file's SHA-256, or a set's model-signing root digest.
    sha256 = models.CharField(max_length=64, validators=[sha256_validator], db_index=True)
    size_bytes = models.BigIntegerField(help_text="All files together.")
    # [{"path", "size", "sha256", "key"}] in model-signing's order; "key" is where storage keeps the file.
    files = models.JSONField(default=list)
    # Set when stored bytes were found not to match the digest (a worker, a download, the weekly scrub): the
    # version then runs no job, is served to nobody and is promoted nowhere until IT restores the file.
    integrity_error = models.TextField(blank=True)
    integrity_checked_at = models.DateTimeField(null=True, blank=True)
    # Read from the graph: {"inputs": [{name, dtype, shape}], "outputs": [...]}; shape items are ints or
    # symbolic names (str) or null when unknown.
    signature = models.JSONField(default=dict)
    opsets = models.JSONField(default=dict, help_text="Opset version per operator domain.")
    ir_version = models.PositiveIntegerField(null=True)
    producer = models.CharField(max_length=200, blank=True)
    # OpenSSF model signing (registry/signatures.py): who signed these files, verified on upload, the key's
    # hint, and the bundle as it arrived; empty for an unsigned version.
    signed_by = models.CharField(max_length=150, blank=True)
    signing_keyid = models.CharField(max_length=64, blank=True)
    signing_bundle = models.JSONField(null=True, blank=True)

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

    objects = ModelVersionQuerySet.as_manager()

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

    @property
    def is_set(self) -> bool:
        """An ONNX model with external data files: its digest is the manifest's root digest."""
        return len(self.files) > 1

    @property
    def model_file(self) -> dict:
        """The manifest entry of the ONNX file itself."""
        return next((f for f in self.files if f["key"] == self.artifact.name), self.files[0])


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


class Job(models.Model):
    """One validation or benchmark run. The row is the truth the pages read; Celery only carries its id."""

    kind = models.CharField(max_length=12, choices=JobKind.choices, db_index=True)
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="jobs")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="jobs", null=True, blank=True)
    artifact_sha256 = models.CharField(max_length=64, help_text="The digest the evidence is about.")
    parameters = models.JSONField(default=dict, blank=True)
    # What the benchmark asked for: "cpu", "gpu" (any GPU) or a GPU class such as "h100" (fleet.devices).
    device = models.CharField(max_length=20, default=CPU)
    queue = models.CharField(max_length=40, db_index=True)
    # Where it ran, as the worker recorded it: "cpu" or the class of the card, and that card's UUID.
    device_class = models.CharField(max_length=20, blank=True)
    gpu_uuid = models.CharField(max_length=100, blank=True)

    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    verdict = models.CharField(max_length=8, choices=Verdict.choices, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    log = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    environment = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)

    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    dispatches = models.PositiveSmallIntegerField(default=0)
    celery_task_id = models.CharField(max_length=64, blank=True)
    cancel_requested = models.BooleanField(default=False)

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="registry_job_status_idx"),
            models.Index(fields=["-created_at", "-id"], name="registry_job_recent_idx"),  # the lists' order
            models.Index(fields=["version", "kind", "status"], name="registry_job_evidence_idx"),
            models.Index(fields=["worker", "finished_at"], name="registry_job_worker_idx"),  # the Workers page
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="registry_job_progress_max_100"),
            models.CheckConstraint(
                condition=~models.Q(kind=JobKind.VALIDATION) | models.Q(dataset__isnull=False),
                name="registry_job_validation_has_dataset",
            ),
        ]
        permissions = [
            ("run_validation", "Can start validation jobs"),
            ("run_benchmark", "Can start benchmark jobs"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} of {self.version}"

    def get_absolute_url(self) -> str:
        return reverse("jobs:detail", kwargs={"pk": self.pk})

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    def ran_on(self, device: str) -> bool:
        """Whether this benchmark ran on ``device``: "" any, "cpu", "gpu", or a GPU class such as "h100"."""
        return ran_on(self.result, self.environment, device)

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class Observation(models.Model):
    """What a serving system reported about a version in production over a window (docs/architecture.md,
    "Monitoring and model debt").

    ``metrics`` are the values the serving side measured (e.g. accuracy on labelled traffic); ``histograms``
    the feature counts on the edges of the version's reference histograms, from which ``psi`` is computed
    at ingest. ``degradation`` is the verdict the debt index reads: 1 when a metric misses its floor or a
    feature's PSI reaches the red band, 0.5 in the amber band, else 0.
    """

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="observations")
    observed_at = models.DateTimeField(help_text="The end of the window the values describe.")
    window_start = models.DateTimeField(null=True, blank=True)
    sample_count = models.PositiveBigIntegerField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    histograms = models.JSONField(default=dict, blank=True, help_text="{feature: [counts on the reference edges]}")
    psi = models.JSONField(default=dict, blank=True, help_text="{feature: PSI against the reference}")
    max_psi = models.FloatField(null=True, blank=True)
    below_floor = models.JSONField(default=list, blank=True, help_text="Metrics that missed the model's floor.")
    degradation = models.FloatField(default=0, help_text="0 healthy, 0.5 amber drift, 1 degraded.")
    reference_job = models.ForeignKey(
        Job,
        on_delete=models.PROTECT,
        related_name="observations",
        null=True,
        blank=True,
        help_text="The validation the PSI compares with.",
    )
    source = models.CharField(max_length=100, blank=True, help_text="The reporting system, e.g. its hostname.")
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="observations")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-observed_at", "-pk"]
        indexes = [models.Index(fields=["version", "-observed_at"], name="registry_obs_latest_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(degradation__gte=0) & models.Q(degradation__lte=1),
                name="registry_obs_degradation_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} observed {self.observed_at:%Y-%m-%d %H:%M}"
