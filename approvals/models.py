from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from approvals.choices import (
    OPEN_STATUSES,
    UNRESOLVED,
    Action,
    DecisionKind,
    FindingStatus,
    RequestStatus,
    Severity,
)
from fleet.devices import check_device
from portal.core.roles import Role
from registry.choices import RiskTier, Stage


class Policy(models.Model):
    """What a transition needs for a risk tier: evidence on the exact artifact, and approvals by role.

    Stored as data and editable by admins; each request keeps a snapshot of the policy it was opened under.
    ``evidence``: {"validation": bool, "benchmark": bool, "card_complete": bool, "signature": bool,
    "benchmark_device": device}, the device "" (any), "cpu", "gpu" (any GPU) or a GPU class such as "h100"
    (fleet.devices); "signature": the version's files carry a verified OpenSSF model signature.
    ``approvals``: {role name: count}, e.g. {"it-operations": 2, "risk-reviewers": 1}.
    """

    risk_tier = models.CharField(max_length=10, choices=RiskTier.choices)
    transition = models.CharField(max_length=30)
    evidence = models.JSONField(default=dict, blank=True)
    approvals = models.JSONField(default=dict, blank=True)
    owner_may_approve = models.BooleanField(
        default=False, help_text="The model's owner counts as an approver (retirement: '1 IT or the owner')."
    )
    blocking_findings = models.JSONField(
        default=list,
        blank=True,
        help_text='Severities of unresolved findings that hold the step back, e.g. ["high", "critical"].',
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["transition", "risk_tier"]
        constraints = [
            models.UniqueConstraint(fields=["risk_tier", "transition"], name="approvals_policy_unique"),
        ]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return f"{self.transition} · {self.risk_tier}"

    def clean(self) -> None:
        # The queue compares approvals given with these counts in SQL: a count must be a whole number.
        if not isinstance(self.approvals, dict):
            raise ValidationError({"approvals": 'Give approvals as {"role": count}, e.g. {"it-operations": 1}.'})
        device = self.evidence.get("benchmark_device") if isinstance(self.evidence, dict) else None
        if device:
            try:
                check_device(device)
            except ValueError as exc:
                raise ValidationError({"evidence": f"benchmark_device: {exc}"}) from None
        for role, count in self.approvals.items():
            if role not in Role.values:
                raise ValidationError({"approvals": f"'{role}' is not a role; roles are {', '.join(Role.values)}."})
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValidationError({"approvals": f"The count for {role} must be a whole number of at least 1."})
        if not isinstance(self.blocking_findings, list) or any(
            s not in Severity.values for s in self.blocking_findings
        ):
            raise ValidationError(
                {"blocking_findings": f"Give a list of severities among {', '.join(Severity.values)}, or []."}
            )

    def snapshot(self) -> dict:
        return {
            "id": self.pk,
            "risk_tier": self.risk_tier,
            "transition": self.transition,
            "evidence": self.evidence,
            "approvals": self.approvals,
            "owner_may_approve": self.owner_may_approve,
            "blocking_findings": list(self.blocking_findings),
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


class PromotionRequestQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATUSES)


class PromotionRequest(models.Model):
    version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="requests")
    action = models.CharField(max_length=10, choices=Action.choices)
    from_stage = models.CharField(max_length=12, choices=Stage.choices)
    to_stage = models.CharField(max_length=12, choices=Stage.choices)
    justification = models.TextField()
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requests")
    policy = models.JSONField(help_text="The policy this request was opened under (a snapshot).")
    artifact_sha256 = models.CharField(max_length=64, help_text="The artifact the request and its evidence are about.")
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.OPEN, db_index=True)
    reason = models.TextField(blank=True, help_text="Why it was rejected or withdrawn.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Kept on the row for the approver's queue (selectors.queue_for), so that it walks an index of open requests
    # and stops at a page instead of reading the policy and counting decisions for every open request:
    # the policy's roles still short of approvals, as "|role|role|" (kept by the decision service while the
    # request is open), and, on a promotion, who uploaded the artifact (a version's author never changes).
    waiting_roles = models.CharField(max_length=200, blank=True, default="", editable=False)
    artifact_author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True, editable=False
    )

    objects = PromotionRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version"],
                condition=models.Q(status__in=list(OPEN_STATUSES)),
                name="approvals_request_one_open_per_version",
                violation_error_message="This version already has an open request.",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="approvals_request_queue_idx"),
            # The queue's order, open requests only: a page is its first rows.
            models.Index(
                fields=["created_at", "id"],
                condition=models.Q(status__in=list(OPEN_STATUSES)),
                name="approvals_request_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.version} {self.from_stage} → {self.to_stage}"

    def get_absolute_url(self) -> str:
        return reverse("approvals:request-detail", kwargs={"pk": self.pk})

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @staticmethod
    def waiting_roles_for(needed: dict, given: dict[str, int]) -> str:
        """The roles of ``needed`` ({role: count}) that ``given`` ({role: approvals}) leaves short, as stored."""
        short = [role for role, count in needed.items() if given.get(role, 0) < count]
        return f"|{'|'.join(short)}|" if short else ""


class Decision(models.Model):
    request = models.ForeignKey(PromotionRequest, on_delete=models.PROTECT, related_name="decisions")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions")
    role = models.CharField(max_length=30, help_text="The role the person decided in.")
    decision = models.CharField(max_length=8, choices=DecisionKind.choices)
    comment = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "person"], name="approvals_decision_once_per_person"),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.decision} #{self.request_id}"


class StageChange(models.Model):
    """Every stage change of a version: the model's timeline, and the history of what was in production."""

    version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="stage_changes")
    from_stage = models.CharField(max_length=12, choices=Stage.choices)
    to_stage = models.CharField(max_length=12, choices=Stage.choices)
    request = models.ForeignKey(
        PromotionRequest, on_delete=models.PROTECT, related_name="stage_changes", null=True, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stage_changes", null=True, blank=True
    )
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # When the version entered ``from_stage`` (its previous change, or its upload): the dwell time.
    entered_at = models.DateTimeField(null=True, blank=True)
    # On an arrival in production: when a rollback undid it (the change-failure rate counts those).
    rolled_back_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["to_stage", "created_at"], name="approvals_change_to_stage_idx")]

    def __str__(self) -> str:
        return f"{self.version} {self.from_stage} → {self.to_stage}"


class Attestation(models.Model):
    """A signed statement that a transition applied to these bytes: an in-toto Statement in a DSSE envelope,
    signed when the request applied (approvals.services.attestations). Deployment tooling verifies it offline
    against the published key (portal/core/dsse.py); the row keeps what was issued, never a key."""

    version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="attestations")
    request = models.ForeignKey(PromotionRequest, on_delete=models.PROTECT, related_name="attestations")
    stage = models.CharField(max_length=12, choices=Stage.choices, help_text="The stage the version entered.")
    subject_sha256 = models.CharField(max_length=64, help_text="The artifact's digest: the statement's subject.")
    statement_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the signed payload (the statement).")
    keyid = models.CharField(max_length=64, help_text="The signing key's id (SHA-256 of its public key, DER).")
    envelope = models.JSONField(help_text="The DSSE envelope, as served.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["version", "created_at"], name="approvals_attest_version_idx")]

    def __str__(self) -> str:
        return f"Attestation #{self.pk}: {self.version} entered {self.stage}"


class FindingQuerySet(models.QuerySet):
    def unresolved(self):
        return self.filter(status__in=UNRESOLVED)

    def overdue(self, today):
        """Unresolved and past the due date: counted by the debt index."""
        return self.unresolved().filter(due_date__lt=today)


class Finding(models.Model):
    """What a reviewer found about a version: tracked open → remediated → verified (or accepted as a risk with
    a justification), with a thread. Unresolved findings of the severities a policy names hold a release back
    (approvals.selectors.evidence_for); the services in approvals.services.findings make every change."""

    version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="findings")
    request = models.ForeignKey(
        PromotionRequest,
        on_delete=models.PROTECT,
        related_name="findings",
        null=True,
        blank=True,
        help_text="The request under review when it was found, if any.",
    )
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=10, choices=Severity.choices, db_index=True)
    description = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_findings",
        help_text="Who must remediate it.",
    )
    due_date = models.DateField(help_text="When it should be resolved; past it, the finding counts as model debt.")
    status = models.CharField(max_length=12, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="raised_findings")
    remediated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="Who verified the fix or accepted the risk.",
    )
    resolution = models.TextField(blank=True, help_text="How it was verified, or why the risk is accepted.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = FindingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "due_date"], name="approvals_finding_due_idx"),
            models.Index(fields=["version", "status"], name="approvals_finding_version_idx"),
            models.Index(fields=["owner", "status"], name="approvals_finding_owner_idx"),
            models.Index(fields=["created_at"], name="approvals_finding_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Finding #{self.pk} ({self.severity}): {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("approvals:finding-detail", kwargs={"pk": self.pk})

    @property
    def is_resolved(self) -> bool:
        return self.status not in UNRESOLVED


class FindingComment(models.Model):
    """One entry of a finding's thread: a comment, or a status change with what was said about it."""

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    from_status = models.CharField(max_length=12, choices=FindingStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=FindingStatus.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["finding", "created_at"], name="approvals_fcomment_idx")]

    def __str__(self) -> str:
        return f"#{self.finding_id} {self.author}: {self.body[:40]}"


class Webhook(models.Model):
    """A subscription: deployment tooling receives signed events (HMAC-SHA256 over timestamp and body)."""

    EVENTS = (
        "request.opened",
        "request.decided",
        "request.rejected",
        "request.withdrawn",
        "request.applied",
        "version.stage_changed",
        "finding.opened",
        "finding.status_changed",
        "audit.checkpoint",
    )

    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200, help_text="Shared secret for the X-Gatehouse-Signature header.")
    events = models.JSONField(default=list, blank=True, help_text="Event names; empty means all.")
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.description or self.url

    def wants(self, event: str) -> bool:
        return self.active and (not self.events or event in self.events)


class WebhookDelivery(models.Model):
    """One attempt to deliver one event to one webhook; retries are new rows with the same event id."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (will retry)"
        GAVE_UP = "gave_up", "Failed (gave up)"

    webhook = models.ForeignKey(Webhook, on_delete=models.PROTECT, related_name="deliveries")
    event_id = models.UUIDField(db_index=True)
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook} (attempt {self.attempt}, {self.status})"
