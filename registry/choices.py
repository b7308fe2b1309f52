from django.db import models


class RiskTier(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class TaskType(models.TextChoices):
    BINARY_CLASSIFICATION = "binary-classification", "Binary classification"
    MULTICLASS = "multiclass", "Multiclass classification"
    REGRESSION = "regression", "Regression"
    RANKING = "ranking", "Ranking"
    OTHER = "other", "Other"


class Stage(models.TextChoices):
    DESIGN = "design", "Design"
    TEST = "test", "Test"
    PRODUCTION = "production", "Production"
    RETIRED = "retired", "Retired"


class ArtifactFormat(models.TextChoices):
    ONNX = "onnx", "ONNX"


class JobKind(models.TextChoices):
    VALIDATION = "validation", "Validation"
    BENCHMARK = "benchmark", "Benchmark"


class JobStatus(models.TextChoices):
    """succeeded: the job ran to the end (its verdict says pass or fail); failed: the model or data stopped it
    (inference raised, a column is missing); error: the infrastructure did (worker lost, time limit)."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Completed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Error"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.ERROR, JobStatus.CANCELLED)


class Verdict(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


class DatasetFormat(models.TextChoices):
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"


class AuditAction(models.TextChoices):
    """What the registry records in the audit log (portal.core.audit)."""

    MODEL_CREATED = "registry.model.created", "Model registered"
    MODEL_UPDATED = "registry.model.updated", "Model changed"
    VERSION_CREATED = "registry.version.created", "Version uploaded"
    VERSION_INTEGRITY_FAILED = "registry.version.integrity_failed", "Stored artifact no longer matches its digest"
    DATASET_CREATED = "registry.dataset.created", "Dataset added"
    OBSERVATION_RECORDED = "registry.observation.recorded", "Observation from production recorded"
    VALIDATION_CREATED = "registry.job.validation.created", "Validation started"
    BENCHMARK_CREATED = "registry.job.benchmark.created", "Benchmark started"
    JOB_SUCCEEDED = "registry.job.succeeded", "Job completed"
    JOB_FAILED = "registry.job.failed", "Job failed"
    JOB_ERROR = "registry.job.error", "Job ended in error"
    JOB_CANCELLED = "registry.job.cancelled", "Job cancelled"


JOB_CREATED_ACTION = {
    JobKind.VALIDATION: AuditAction.VALIDATION_CREATED,
    JobKind.BENCHMARK: AuditAction.BENCHMARK_CREATED,
}
JOB_ENDED_ACTION = {
    JobStatus.SUCCEEDED: AuditAction.JOB_SUCCEEDED,
    JobStatus.FAILED: AuditAction.JOB_FAILED,
    JobStatus.ERROR: AuditAction.JOB_ERROR,
    JobStatus.CANCELLED: AuditAction.JOB_CANCELLED,
}
