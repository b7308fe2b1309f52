from __future__ import annotations

from django.conf import settings
from django.db import models


class Team(models.Model):
    """Owner of models; model debt is reported per team. Members may change their team's models."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AuditEvent(models.Model):
    """Append-only, hash-chained record of every state change (docs/architecture.md, "The audit chain").

    ``hash`` = SHA-256 over ``prev_hash`` and the canonical JSON of the event (portal.core.audit). On PostgreSQL a
    trigger refuses UPDATE and DELETE; ``manage.py audit_verify`` recomputes the chain on any database.
    The object is kept as type, id and text rather than a foreign key so that the log outlives its objects.
    """

    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="audit_events",
        null=True,
        blank=True,
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=300)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # The event's place in the chain, 1, 2, 3… with no gaps (assigned under the append lock; ids may skip a
    # number where a transaction rolled back). Signed checkpoints name a place and the hash there.
    seq = models.BigIntegerField(unique=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="portal_audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_username or 'system'} {self.action}"


class AuditCheckpoint(models.Model):
    """A signed head of the audit chain (its place and hash at a moment), kept outside the audit table and
    published (API, webhook, log) so that a deleted tail, a truncation or a rewritten history shows against
    it (``manage.py audit_verify``), as Certificate Transparency logs publish signed tree heads. Not itself
    audited: an event about a checkpoint would move the head it just signed."""

    seq = models.BigIntegerField(help_text="The chain's length when signed: the place of its last event.")
    head_hash = models.CharField(max_length=64, help_text="The hash of that event.")
    reason = models.CharField(max_length=40, help_text="schedule, or what prompted it (a release).")
    keyid = models.CharField(max_length=64)
    envelope = models.JSONField(help_text="The signed checkpoint: a DSSE envelope.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-seq", "-pk"]

    def __str__(self) -> str:
        return f"Checkpoint at event {self.seq} ({self.created_at:%Y-%m-%d %H:%M})"
