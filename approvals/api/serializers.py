from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from approvals.choices import Action, DecisionKind, FindingAction, Severity
from approvals.models import Attestation, Decision, Finding, FindingComment, PromotionRequest
from approvals.selectors import evidence_for
from portal.core.api import InputSerializer, OutputSerializer
from registry.api.serializers import download_url
from registry.models import ModelVersion


class DecisionOutputSerializer(OutputSerializer):
    person = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Decision
        fields = ["person", "role", "decision", "comment", "created_at"]


class RequestOutputSerializer(OutputSerializer):
    model = serializers.CharField(source="version.model.name", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    requester = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decisions = DecisionOutputSerializer(many=True, read_only=True)
    missing_evidence = serializers.SerializerMethodField()

    class Meta:
        model = PromotionRequest
        fields = [
            "id",
            "model",
            "version",
            "action",
            "from_stage",
            "to_stage",
            "status",
            "justification",
            "reason",
            "requester",
            "artifact_sha256",
            "policy",
            "decisions",
            "missing_evidence",
            "created_at",
            "closed_at",
        ]

    def get_missing_evidence(self, obj) -> list[str]:
        if not obj.is_open:
            return []
        return [
            item.message for item in evidence_for(obj.version, obj.policy, obj.artifact_sha256) if not item.satisfied
        ]


class RequestListOutputSerializer(RequestOutputSerializer):
    """The list leaves out missing_evidence (it costs queries per row); read one request for it."""

    class Meta(RequestOutputSerializer.Meta):
        fields = [f for f in RequestOutputSerializer.Meta.fields if f != "missing_evidence"]


class RequestCreateInputSerializer(InputSerializer):
    model = serializers.CharField()
    version = serializers.IntegerField(min_value=1)
    action = serializers.ChoiceField(choices=Action.choices)
    justification = serializers.CharField(min_length=10)


class DecisionInputSerializer(InputSerializer):
    decision = serializers.ChoiceField(choices=DecisionKind.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class WithdrawInputSerializer(InputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class ProductionOutputSerializer(OutputSerializer):
    model = serializers.CharField(source="model.name")
    team = serializers.CharField(source="model.team.slug")
    risk_tier = serializers.CharField(source="model.risk_tier")
    version = serializers.IntegerField(source="number")
    since = serializers.DateTimeField(allow_null=True)
    artifact_url = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "model",
            "team",
            "risk_tier",
            "version",
            "sha256",
            "size_bytes",
            "format",
            "signature",
            "since",
            "artifact_url",
        ]

    def get_artifact_url(self, obj) -> str | None:
        return download_url(self.context["request"], "api-version-artifact", name=obj.model.name, number=obj.number)


class AttestationOutputSerializer(OutputSerializer):
    request = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Attestation
        fields = ["id", "stage", "request", "subject_sha256", "statement_sha256", "keyid", "created_at", "envelope"]


class PublicKeyOutputSerializer(serializers.Serializer):
    keyid = serializers.CharField(help_text="SHA-256 of the public key (DER SubjectPublicKeyInfo), hex.")
    algorithm = serializers.ChoiceField(choices=["ed25519", "ecdsa-p256-sha256"])
    status = serializers.ChoiceField(choices=["active", "retired"])
    pem = serializers.CharField()


class PublicKeysOutputSerializer(serializers.Serializer):
    keys = PublicKeyOutputSerializer(many=True, help_text="The active key first, then retired ones.")


class FindingCommentOutputSerializer(OutputSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = FindingComment
        fields = ["id", "author", "body", "from_status", "to_status", "created_at"]


class FindingOutputSerializer(OutputSerializer):
    model = serializers.CharField(source="version.model.name", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    artifact_sha256 = serializers.CharField(source="version.sha256", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    raised_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    request = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Finding
        fields = [
            "id",
            "model",
            "version",
            "artifact_sha256",
            "request",
            "title",
            "severity",
            "status",
            "description",
            "owner",
            "due_date",
            "raised_by",
            "resolved_by",
            "resolution",
            "resolved_at",
            "created_at",
            "updated_at",
        ]


class FindingDetailOutputSerializer(FindingOutputSerializer):
    comments = FindingCommentOutputSerializer(many=True, read_only=True)

    class Meta(FindingOutputSerializer.Meta):
        fields = [*FindingOutputSerializer.Meta.fields, "comments"]


class _Owner(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="username", queryset=get_user_model().objects.all(), **kwargs)


class FindingCreateInputSerializer(InputSerializer):
    model = serializers.CharField()
    version = serializers.IntegerField(min_value=1)
    title = serializers.CharField(max_length=200)
    severity = serializers.ChoiceField(choices=Severity.choices)
    description = serializers.CharField()
    owner = _Owner(required=False, help_text="Username; the model's owner when left out.")
    due_date = serializers.DateField(required=False, help_text="By severity when left out (7 to 90 days).")
    request = serializers.IntegerField(required=False, min_value=1, help_text="The request under review, if any.")


class FindingUpdateInputSerializer(InputSerializer):
    title = serializers.CharField(max_length=200, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    description = serializers.CharField(required=False)
    owner = _Owner(required=False)
    due_date = serializers.DateField(required=False)


class FindingStepInputSerializer(InputSerializer):
    action = serializers.ChoiceField(choices=FindingAction.choices)
    comment = serializers.CharField(help_text="What was done, how it was checked, why the risk is acceptable …")


class FindingCommentInputSerializer(InputSerializer):
    body = serializers.CharField()
