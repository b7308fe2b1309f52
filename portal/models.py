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
    """Append-only, hash-chained record of every state change (DESIGN §4).

    ``hash`` = SHA-256 over ``prev_hash`` and the canonical JSON of the event (portal.audit). On PostgreSQL a
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

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="portal_audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_username or 'system'} {self.action}"


DEBT_COMPONENTS = ("shelf", "stale", "unmonitored", "degrading", "overdue_validation", "ungoverned", "stuck")


class DebtSnapshot(models.Model):
    """One model's debt components at the end of one day (portal.debt), kept so trends are history."""

    date = models.DateField()
    model = models.ForeignKey("registry.RegisteredModel", on_delete=models.CASCADE, related_name="debt_snapshots")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    risk_tier = models.CharField(max_length=10)
    index = models.FloatField(help_text="Model Debt Index, 0–100.")
    shelf = models.FloatField()
    stale = models.FloatField()
    unmonitored = models.FloatField()
    degrading = models.FloatField()
    overdue_validation = models.FloatField()
    ungoverned = models.FloatField()
    stuck = models.FloatField()
    stage = models.CharField(max_length=12, blank=True, help_text="The furthest stage a version was in that day.")
    shelf_days = models.FloatField(null=True, blank=True,
                                   help_text="Days since the first version reached test, while nothing is in "
                                             "production.")
    details = models.JSONField(default=dict, blank=True, help_text="Each component's reason, in words.")
    taken_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "model"]
        constraints = [models.UniqueConstraint(fields=["date", "model"], name="portal_debtsnapshot_unique_day")]
        indexes = [models.Index(fields=["model", "date"], name="portal_debtsnap_model_idx"),
                   models.Index(fields=["date", "-index"], name="portal_debtsnap_rank_idx")]

    def __str__(self) -> str:
        return f"{self.model_id} {self.date}: {self.index:.1f}"

    @property
    def worst(self) -> str | None:
        """The component that adds most to the index (as portal.debt.ModelDebt.worst)."""
        from portal.debt import WEIGHTS

        scored = [(WEIGHTS[c] * getattr(self, c), WEIGHTS[c], -i, c) for i, c in enumerate(DEBT_COMPONENTS)
                  if getattr(self, c) > 0]
        return max(scored)[3] if scored else None


class DebtDay(models.Model):
    """One row per day that has a snapshot (even a day with no live model), so a backfill knows what is done
    and the page knows when the newest snapshot was taken."""

    date = models.DateField(unique=True)
    models_count = models.PositiveIntegerField()
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date}: {self.models_count} model(s)"


class DebtRollup(models.Model):
    """Sums of the day's DebtSnapshot rows per team and risk tier: the trend chart reads a few hundred of
    these rather than a row per model per day. Written with the snapshots, in the same transaction."""

    date = models.DateField()
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    risk_tier = models.CharField(max_length=10)
    models_count = models.PositiveIntegerField()
    index_sum = models.FloatField()
    shelf = models.FloatField(help_text="Σ d over the group's models (likewise below).")
    stale = models.FloatField()
    unmonitored = models.FloatField()
    degrading = models.FloatField()
    overdue_validation = models.FloatField()
    ungoverned = models.FloatField()
    stuck = models.FloatField()

    class Meta:
        ordering = ["date", "team", "risk_tier"]
        constraints = [
            models.UniqueConstraint(fields=["date", "team", "risk_tier"], name="portal_debtrollup_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.team_id} {self.risk_tier}"
