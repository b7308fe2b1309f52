from __future__ import annotations

import json

from rest_framework import serializers

from portal.core.api import InputSerializer
from registry.choices import Device, JobKind
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


class JobOutputSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="version.model.name", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    dataset = serializers.SlugRelatedField(slug_field="name", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    url = serializers.SerializerMethodField()

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
    device = serializers.ChoiceField(
        choices=Device.choices,
        required=False,
        default=None,
        help_text="Benchmark: gpu (queue gpu) or cpu; by default a GPU once a GPU worker has run one, else the CPU.",
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
