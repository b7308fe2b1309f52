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


class DatasetFormat(models.TextChoices):
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"
