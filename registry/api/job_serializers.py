from __future__ import annotations

import json

from rest_framework import serializers

from portal.core.api import InputSerializer, OutputSerializer
from registry import selectors
from registry.choices import JobKind
from registry.models import Job


class _JSONObjectField(serializers.JSONField):
    """A JSON object in a JSON body, or a JSON string in a form-encoded one."""

    def to_internal_value(self, data):
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except ValueError:
                self.fail("invalid")
        return super().to_internal_value(data)


class JobOutputSerializer(OutputSerializer):
    model = serializers.CharField(source="version.model.name", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    dataset = serializers.SlugRelatedField(slug_field="name", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    url = serializers.SerializerMethodField()
    waiting = serializers.SerializerMethodField(
        help_text="Why a queued job waits when no online worker consumes its queue; null otherwise."
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "url",
            "kind",
            "model",
            "version",
            "dataset",
            "artifact_sha256",
            "device",
            "queue",
            "waiting",
            "device_class",
            "gpu_uuid",
            "status",
            "verdict",
            "progress",
            "message",
            "error",
            "attempts",
            "worker",
            "parameters",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_waiting(self, obj) -> str | None:
        # One read of the fleet per response (the view puts it in the context), not one per job.
        return selectors.job_waiting(obj, self.context.get("fleet")) or None

    def get_url(self, obj) -> str:
        request = self.context.get("request")
        path = f"/api/v1/jobs/{obj.pk}/"
        return request.build_absolute_uri(path) if request else path


class JobDetailOutputSerializer(JobOutputSerializer):
    class Meta(JobOutputSerializer.Meta):
        fields = [*JobOutputSerializer.Meta.fields, "result", "environment", "log"]


class JobCreateInputSerializer(InputSerializer):
    kind = serializers.ChoiceField(choices=JobKind.choices)
    model = serializers.CharField(help_text="The model's name.")
    version = serializers.IntegerField(min_value=1)
    dataset = serializers.CharField(
        required=False, allow_null=True, default=None, help_text="Validation: the dataset's name on that model."
    )
    device = serializers.CharField(
        required=False,
        default=None,
        max_length=20,
        help_text="Benchmark: cpu, gpu (any GPU) or a GPU class such as h100 (queue gpu.h100). By default the CPU "
        "while no GPU worker is online, else the device the model's policy needs, else any GPU.",
    )
    parameters = _JSONObjectField(
        required=False,
        default=dict,
        help_text='Validation: {"floors": {"accuracy": 0.9}, "margin": 0.01}. '
        'Benchmark: {"batch_sizes": [1, 8, 32], "min_seconds": 3, "min_iterations": 100, "warmup_ms": 200}.',
    )

    def validate_parameters(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError('Give parameters as a JSON object, e.g. {"batch_sizes": [1, 8]}.')
        return value
