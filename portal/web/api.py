"""The audit chain's published checkpoints (public: they hold a place, a hash and a time, nothing else)."""

from __future__ import annotations

from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny

from portal.core.api import OutputSerializer
from portal.core.models import AuditCheckpoint


class CheckpointOutputSerializer(OutputSerializer):
    class Meta:
        model = AuditCheckpoint
        fields = ["seq", "head_hash", "keyid", "created_at", "envelope"]  # not the reason: it names a model

    seq = serializers.IntegerField(help_text="The chain's length when signed: the place of its last event.")


class CheckpointListApi(generics.ListAPIView):
    """Signed checkpoints of the audit chain, newest first. Keep them somewhere this database cannot reach
    (the ``audit.checkpoint`` webhook does it as they are signed) and check the chain against them with
    ``manage.py audit_verify --checkpoints FILE``."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    serializer_class = CheckpointOutputSerializer
    queryset = AuditCheckpoint.objects.order_by("-seq", "-pk")
