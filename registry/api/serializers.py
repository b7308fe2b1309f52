from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from fleet.models import Worker
from portal.core.api import InputSerializer, OutputSerializer
from portal.core.models import Team
from registry import permissions
from registry.choices import RiskTier, TaskType
from registry.models import MODEL_CARD_FIELDS, Dataset, ModelVersion, Observation, RegisteredModel


def download_url(request, url_name: str, **kwargs) -> str | None:
    """Where a token-authenticated client fetches the bytes; None for roles that may not download."""
    if request is None or not permissions.can_download(request.user):
        return None
    return request.build_absolute_uri(reverse(url_name, kwargs=kwargs))


class ModelOutputSerializer(OutputSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    card_complete = serializers.BooleanField(read_only=True)
    latest_version = serializers.IntegerField(read_only=True, allow_null=True, required=False)
    production_version = serializers.IntegerField(read_only=True, allow_null=True, required=False)
    url = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredModel
        fields = [
            "name",
            "url",
            "team",
            "owner",
            "description",
            "risk_tier",
            "task_type",
            "refresh_interval_days",
            "tags",
            *MODEL_CARD_FIELDS,
            "metric_floors",
            "noninferiority_margin",
            "slo_p99_latency_ms",
            "slo_min_throughput",
            "card_complete",
            "latest_version",
            "production_version",
            "created_at",
            "updated_at",
        ]

    def get_url(self, obj) -> str:
        request = self.context.get("request")
        url = f"/api/v1/models/{obj.name}/"
        return request.build_absolute_uri(url) if request else url


class ModelCreateInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=100)
    team = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        error_messages={"does_not_exist": "There is no team '{value}'. Use a team's slug, e.g. risk-models."},
    )
    task_type = serializers.ChoiceField(choices=TaskType.choices)
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices)
    description = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
    refresh_interval_days = serializers.IntegerField(min_value=1, required=False, default=180)
    tags = serializers.ListField(child=serializers.SlugField(max_length=50), required=False, default=list)
    intended_use = serializers.CharField(required=False, default="", allow_blank=True)
    out_of_scope_use = serializers.CharField(required=False, default="", allow_blank=True)
    training_data = serializers.CharField(required=False, default="", allow_blank=True)
    evaluation_data = serializers.CharField(required=False, default="", allow_blank=True)
    metrics_description = serializers.CharField(required=False, default="", allow_blank=True)
    limitations = serializers.CharField(required=False, default="", allow_blank=True)
    ethical_considerations = serializers.CharField(required=False, default="", allow_blank=True)
    caveats = serializers.CharField(required=False, default="", allow_blank=True)
    metric_floors = serializers.DictField(child=serializers.FloatField(), required=False, default=dict)
    noninferiority_margin = serializers.FloatField(min_value=0, required=False, default=0.01)
    slo_p99_latency_ms = serializers.FloatField(min_value=0, required=False, default=None, allow_null=True)
    slo_min_throughput = serializers.FloatField(min_value=0, required=False, default=None, allow_null=True)


class ModelUpdateInputSerializer(ModelCreateInputSerializer):
    name = None
    team = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


class RiskTierLowerInputSerializer(InputSerializer):
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices)
    reason = serializers.CharField(min_length=10)


class VersionOutputSerializer(OutputSerializer):
    model = serializers.SlugRelatedField(slug_field="name", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    parent_number = serializers.SlugRelatedField(source="parent", slug_field="number", read_only=True)
    download_url = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField(
        help_text="The manifest: each file's path, size and SHA-256. With more than one file, sha256 is the "
        "model-signing root digest over them."
    )
    integrity_error = serializers.CharField(read_only=True, help_text="Set when the stored bytes no longer match.")

    class Meta:
        model = ModelVersion
        fields = [
            "model",
            "number",
            "stage",
            "format",
            "sha256",
            "size_bytes",
            "files",
            "integrity_error",
            "signature",
            "opsets",
            "ir_version",
            "producer",
            "signed_by",
            "source_code_url",
            "source_commit",
            "training_run_url",
            "training_data_ref",
            "trained_at",
            "parent_number",
            "metrics",
            "notes",
            "created_by",
            "created_at",
            "download_url",
        ]

    # What reading a version for this serializer selects (a version read joins three tables: all their columns
    # were most of its SQL compilation and of the rows sent, bench/README.md §9).
    COLUMNS = (
        *(f for f in Meta.fields if f not in {"model", "created_by", "parent_number", "download_url"}),
        "model__name",
        "created_by__username",
        "parent__number",
    )

    def get_files(self, obj) -> list[dict]:
        return [{k: f[k] for k in ("path", "size", "sha256")} for f in obj.files]

    def get_download_url(self, obj) -> str | None:
        """Where a token-authenticated client fetches the bytes; null for roles that may not download."""
        return download_url(self.context.get("request"), "api-version-artifact", name=obj.model.name, number=obj.number)


class VersionCreateInputSerializer(InputSerializer):
    artifact = serializers.FileField(required=False, help_text="The ONNX file (multipart/form-data).")
    artifact_upload = serializers.UUIDField(
        required=False,
        help_text="Instead of 'artifact': the id of a finished resumable upload of the ONNX file (/api/v1/uploads/).",
    )
    data_uploads = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        default=list,
        help_text="With 'artifact_upload': the ids of the finished uploads of the data files, each named by the "
        "filename its upload announced (the tensors' location).",
    )
    data = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        help_text="The external data files the model's tensors name, one repeated 'data' part each, its filename "
        "the tensor's location (e.g. model.onnx.data).",
    )
    signature = serializers.FileField(
        required=False,
        help_text="The OpenSSF model-signing bundle of these files (model_signing sign key …), verified on upload "
        "against a trusted signer's key.",
    )
    source_code_url = serializers.URLField(max_length=500, required=False, default="", allow_blank=True)
    source_commit = serializers.RegexField(
        r"^[0-9a-fA-F]{7,64}$",
        required=False,
        default="",
        allow_blank=True,
        error_messages={"invalid": "A commit is 7 to 64 hexadecimal characters (git rev-parse HEAD)."},
    )
    training_run_url = serializers.URLField(max_length=500, required=False, default="", allow_blank=True)
    training_data_ref = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
    trained_at = serializers.DateTimeField(required=False, default=None, allow_null=True)
    parent_number = serializers.IntegerField(min_value=1, required=False, default=None, allow_null=True)
    metrics = serializers.JSONField(
        required=False,
        default=dict,
        help_text='Offline metrics as a JSON object, e.g. {"accuracy": 0.95}.',
        error_messages={"invalid": 'Give metrics as a JSON object of name to number, e.g. {{"accuracy": 0.95}}.'},
    )
    notes = serializers.CharField(required=False, default="", allow_blank=True)

    def validate_metrics(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError('Give metrics as a JSON object of name to number, e.g. {"auc": 0.9}.')
        return value

    def validate(self, attrs):
        if ("artifact" in attrs) == ("artifact_upload" in attrs):
            raise serializers.ValidationError(
                {"artifact": ["Send the ONNX file as 'artifact', or its finished upload's id as 'artifact_upload'."]}
            )
        if "artifact" in attrs and attrs.get("data_uploads"):
            raise serializers.ValidationError({"data_uploads": ["'data_uploads' goes with 'artifact_upload'."]})
        if "artifact_upload" in attrs and attrs.get("data"):
            raise serializers.ValidationError({"data": ["With 'artifact_upload', send the data files' uploads too."]})
        if "artifact" in attrs:
            attrs.pop("data_uploads", None)
        else:
            attrs.pop("data", None)
        return attrs


class DatasetOutputSerializer(OutputSerializer):
    model = serializers.SlugRelatedField(slug_field="name", read_only=True)
    download_url = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Dataset
        fields = [
            "id",
            "model",
            "name",
            "description",
            "format",
            "sha256",
            "size_bytes",
            "row_count",
            "columns",
            "label_column",
            "created_by",
            "created_at",
            "download_url",
        ]

    def get_download_url(self, obj) -> str | None:
        return download_url(self.context.get("request"), "api-dataset-file", name=obj.model.name, pk=obj.pk)


class DatasetCreateInputSerializer(InputSerializer):
    name = serializers.SlugField(max_length=100)
    description = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
    file = serializers.FileField(help_text="CSV with a header row, or Parquet (multipart/form-data).")
    label_column = serializers.CharField(max_length=200)


class ObservationOutputSerializer(OutputSerializer):
    model = serializers.CharField(source="version.model.name", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    reported_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reference_job = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Observation
        fields = [
            "id",
            "model",
            "version",
            "observed_at",
            "window_start",
            "sample_count",
            "metrics",
            "histograms",
            "psi",
            "max_psi",
            "below_floor",
            "degradation",
            "reference_job",
            "source",
            "reported_by",
            "created_at",
        ]


class ObservationInputSerializer(InputSerializer):
    """Checked strictly by the service (registry.services.monitoring), which names the field at fault."""

    observed_at = serializers.JSONField(
        required=False, help_text="End of the window (ISO 8601 with a zone); default now."
    )
    window_start = serializers.JSONField(required=False)
    sample_count = serializers.JSONField(required=False)
    metrics = serializers.JSONField(required=False, help_text='e.g. {"accuracy": 0.93}')
    histograms = serializers.JSONField(required=False, help_text="feature → counts on the reference edges")
    source = serializers.CharField(required=False, allow_blank=True, max_length=100)


class WorkerOutputSerializer(OutputSerializer):
    online = serializers.BooleanField(source="is_online", read_only=True)
    offline_since = serializers.DateTimeField(read_only=True, allow_null=True)
    current_job = serializers.SerializerMethodField(help_text="The job it runs now (its API URL), or null.")
    jobs_finished_24h = serializers.IntegerField(source="finished_24h", read_only=True)

    class Meta:
        model = Worker
        fields = [
            "name",
            "hostname",
            "online",
            "offline_since",
            "last_seen_at",
            "started_at",
            "stopped_at",
            "queues",
            "device_class",
            "declared_class",
            "gpus",
            "nvml_note",
            "driver_version",
            "cuda_version",
            "cpu_model",
            "cpu_count",
            "memory_total_mib",
            "software",
            "current_job",
            "jobs_finished_24h",
        ]

    def get_current_job(self, obj) -> str | None:
        if not obj.current_job_id or not obj.is_online:
            return None
        request = self.context.get("request")
        path = reverse("api-job-detail", kwargs={"pk": obj.current_job_id})
        return request.build_absolute_uri(path) if request else path
