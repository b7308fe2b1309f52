"""The model-debt history: a row per model per day, the day markers and the per-team rollups."""

from __future__ import annotations

from django.db import models

from portal.core.models import Team
from portal.dashboard.formula import DEBT_COMPONENTS, worst_of


class DebtComponents(models.Model):
    """The eight components of the index (portal.dashboard.formula), one column each: a snapshot's dᵢ, or a
    rollup's Σ dᵢ over its group's models."""

    shelf = models.FloatField()
    stale = models.FloatField()
    unmonitored = models.FloatField()
    degrading = models.FloatField()
    overdue_validation = models.FloatField()
    ungoverned = models.FloatField()
    stuck = models.FloatField()
    overdue_findings = models.FloatField(default=0.0)  # added later: earlier days had no findings

    class Meta:
        abstract = True

    def component_values(self) -> dict[str, float]:
        return {c: getattr(self, c) for c in DEBT_COMPONENTS}


class DebtSnapshot(DebtComponents):
    """One model's debt components at the end of one day (portal.dashboard.snapshots), kept so trends are
    history."""

    date = models.DateField()
    model = models.ForeignKey("registry.RegisteredModel", on_delete=models.CASCADE, related_name="debt_snapshots")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    risk_tier = models.CharField(max_length=10)
    index = models.FloatField(help_text="Model Debt Index, 0–100.")
    stage = models.CharField(max_length=12, blank=True, help_text="The furthest stage a version was in that day.")
    shelf_days = models.FloatField(
        null=True, blank=True, help_text="Days since the first version reached test, while nothing is in production."
    )
    details = models.JSONField(default=dict, blank=True, help_text="Each component's reason, in words.")
    taken_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "model"]
        constraints = [models.UniqueConstraint(fields=["date", "model"], name="portal_debtsnapshot_unique_day")]
        indexes = [
            models.Index(fields=["model", "date"], name="portal_debtsnap_model_idx"),
            models.Index(fields=["date", "-index"], name="portal_debtsnap_rank_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.model_id} {self.date}: {self.index:.1f}"

    @property
    def worst(self) -> str | None:
        """The component that adds most to the index (as ModelDebt.worst)."""
        return worst_of(self.component_values())


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


class DebtRollup(DebtComponents):
    """Sums of the day's DebtSnapshot rows per team and risk tier: the trend chart reads a few hundred of
    these rather than a row per model per day. Written with the snapshots, in the same transaction."""

    date = models.DateField()
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    risk_tier = models.CharField(max_length=10)
    models_count = models.PositiveIntegerField()
    index_sum = models.FloatField()

    class Meta:
        ordering = ["date", "team", "risk_tier"]
        constraints = [
            models.UniqueConstraint(fields=["date", "team", "risk_tier"], name="portal_debtrollup_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.team_id} {self.risk_tier}"
