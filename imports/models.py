"""Imports from an MLflow tracking server: where from (ImportSource), each import (ImportRun) and what each
brought in (ImportedModel, ImportedVersion), keyed by the server and MLflow's own names so a re-run never
imports a version twice. Credentials are never stored here: they come from the settings (README)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.urls import reverse

from imports.choices import FINISHED_RUN_STATUSES, NameConflict, RunStatus
from registry.choices import RiskTier, TaskType


class ImportSource(models.Model):
    """An MLflow tracking server and how its models map onto Gatehouse; beat syncs it when enabled."""

    url = models.URLField(max_length=300, unique=True, help_text="The tracking server, e.g. http://mlflow:5000")
    default_team = models.ForeignKey("portal.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    team_prefixes = models.TextField(
        blank=True,
        help_text="One 'prefix=team-slug' per line: models whose MLflow name starts with it go to that team.",
    )
    team_tag = models.CharField(
        max_length=100, blank=True, help_text="An MLflow model tag whose value is the owning team's slug."
    )
    risk_tier = models.CharField(max_length=10, choices=RiskTier.choices, default=RiskTier.MEDIUM)
    task_type = models.CharField(max_length=30, choices=TaskType.choices, default=TaskType.OTHER)
    name_conflict = models.CharField(max_length=10, choices=NameConflict.choices, default=NameConflict.REFUSE)
    sync_enabled = models.BooleanField(default=False, help_text="Beat imports new versions on a schedule.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url


class ImportRun(models.Model):
    """One import (or dry run): its progress while it runs, and its report line by line."""

    source = models.ForeignKey(ImportSource, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs")
    server_url = models.URLField(max_length=300)
    options = models.JSONField(default=dict, help_text="The mapping and choices the run was started with.")
    dry_run = models.BooleanField(default=False)
    trigger = models.CharField(max_length=10, default="page")  # page, command, sync
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    message = models.CharField(max_length=300, blank=True)
    report = models.JSONField(default=list, blank=True)
    imported = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="imports_run_progress_max_100"),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} from {self.server_url}"

    def get_absolute_url(self) -> str:
        return reverse("imports:detail", args=[self.pk])

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_RUN_STATUSES


class ImportedModel(models.Model):
    """An MLflow registered model and the Gatehouse model its versions go to (which may be renamed)."""

    server_url = models.URLField(max_length=300)
    mlflow_name = models.CharField(max_length=500)
    model = models.ForeignKey("registry.RegisteredModel", on_delete=models.PROTECT, related_name="mlflow_imports")
    run = models.ForeignKey(ImportRun, on_delete=models.PROTECT, related_name="+")
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["server_url", "mlflow_name"], name="imports_model_unique_origin"),
        ]

    def __str__(self) -> str:
        return f"{self.mlflow_name} @ {self.server_url}"


class ImportedVersion(models.Model):
    """Where a Gatehouse version came from in MLflow. Aliases and the legacy stage are facts recorded from
    MLflow, never a Gatehouse stage: a version reaches production only through its policy."""

    server_url = models.URLField(max_length=300)
    mlflow_name = models.CharField(max_length=500)
    mlflow_version = models.PositiveIntegerField()
    version = models.OneToOneField("registry.ModelVersion", on_delete=models.PROTECT, related_name="mlflow_origin")
    run = models.ForeignKey(ImportRun, on_delete=models.PROTECT, related_name="versions")
    mlflow_run_id = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=1000, blank=True)
    artifact_uri = models.CharField(max_length=1000, blank=True)
    aliases = models.JSONField(default=list, blank=True)
    stage = models.CharField(max_length=30, blank=True, help_text="MLflow's legacy stage, as a fact.")
    tags = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    facts_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["server_url", "mlflow_name", "mlflow_version"]
        constraints = [
            models.UniqueConstraint(
                fields=["server_url", "mlflow_name", "mlflow_version"], name="imports_version_unique_origin"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mlflow_name} v{self.mlflow_version} @ {self.server_url}"
