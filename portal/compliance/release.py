"""The pack's release sections: the version's findings and how they were resolved (section 7), and its approval
chain: requests with their decisions, stage changes and signed attestations (section 8)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, IntegerField, Max, Prefetch, Value, When
from django.utils import timezone

from approvals import selectors
from approvals.choices import UNRESOLVED
from approvals.models import Attestation, Decision, Finding, PromotionRequest, StageChange
from portal.compliance.rows import Rows, bounded, max_rows
from registry.choices import Stage
from registry.models import ModelVersion


def _name(user) -> str:
    return user.get_username() if user is not None else ""


@dataclass
class FindingRow:
    id: int
    title: str
    severity: str
    status: str
    owner: str
    raised_by: str
    due_date: Any
    overdue: bool
    resolution: str
    resolved_by: str
    resolved_at: Any
    created_at: Any
    thread: int  # entries in its thread: comments and status changes
    request: int | None


@dataclass
class Findings:
    rows: Rows[FindingRow]
    by_status: dict[str, int]
    unresolved: int


def findings(version: ModelVersion) -> Findings:
    """Unresolved first, most severe first, then by due date."""
    today = timezone.localdate()
    unresolved_first = Case(When(status__in=UNRESOLVED, then=Value(0)), default=Value(1), output_field=IntegerField())
    rows = (
        selectors.finding_list()
        .filter(version=version)
        .select_related("resolved_by")
        .annotate(thread=Count("comments"), resolved_rank=unresolved_first)
        .order_by("resolved_rank", "-severity_rank", "due_date", "pk")
    )
    by_status = dict(
        Finding.objects.filter(version=version).values_list("status").annotate(n=Count("pk")).order_by("status")
    )

    def row(f: Finding) -> FindingRow:
        return FindingRow(
            id=f.pk,
            title=f.title,
            severity=f.severity,
            status=f.status,
            owner=_name(f.owner),
            raised_by=_name(f.raised_by),
            due_date=f.due_date,
            overdue=not f.is_resolved and f.due_date < today,
            resolution=f.resolution,
            resolved_by=_name(f.resolved_by),
            resolved_at=f.resolved_at,
            created_at=f.created_at,
            thread=f.thread,
            request=f.request_id,
        )

    return Findings(
        rows=bounded(rows, row),
        by_status=by_status,
        unresolved=sum(n for status, n in by_status.items() if status in UNRESOLVED),
    )


@dataclass
class DecisionRow:
    person: str
    role: str
    decision: str
    comment: str
    at: Any


@dataclass
class RequestRow:
    id: int
    action: str
    from_stage: str
    to_stage: str
    status: str
    requester: str
    justification: str
    reason: str
    created_at: Any
    closed_at: Any
    policy_evidence: dict
    policy_approvals: dict
    decisions: Rows[DecisionRow]


@dataclass
class StageChangeRow:
    at: Any
    from_stage: str
    to_stage: str
    actor: str
    reason: str
    request: int | None
    rolled_back_at: Any


@dataclass
class AttestationRow:
    id: int
    stage: str
    request: int
    keyid: str
    statement_sha256: str
    subject_sha256: str
    created_at: Any
    envelope: dict


@dataclass
class ApprovalChain:
    requests: Rows[RequestRow]
    stage_changes: Rows[StageChangeRow]
    attestations: Rows[AttestationRow]
    production_since: Any  # when it last entered production, if it did


def _request_row(r: PromotionRequest) -> RequestRow:
    decisions = [DecisionRow(_name(d.person), d.role, d.decision, d.comment, d.created_at) for d in r.first_decisions]
    return RequestRow(
        id=r.pk,
        action=r.action,
        from_stage=r.from_stage,
        to_stage=r.to_stage,
        status=r.status,
        requester=_name(r.requester),
        justification=r.justification,
        reason=r.reason,
        created_at=r.created_at,
        closed_at=r.closed_at,
        policy_evidence=r.policy.get("evidence", {}),
        policy_approvals=r.policy.get("approvals", {}),
        decisions=Rows(decisions, r.decision_count),
    )


def approval_chain(version: ModelVersion) -> ApprovalChain:
    limit = max_rows()
    # A sliced prefetch: at most ``limit`` decisions per request, in one query whatever the number of requests.
    decisions = Decision.objects.select_related("person").order_by("created_at", "pk")[:limit]
    requests = (
        PromotionRequest.objects.filter(version=version)
        .select_related("requester")
        .annotate(decision_count=Count("decisions"))
        .prefetch_related(Prefetch("decisions", queryset=decisions, to_attr="first_decisions"))
        .order_by("-created_at", "-pk")
    )
    changes = StageChange.objects.filter(version=version).select_related("actor").order_by("-created_at", "-pk")
    attestations = Attestation.objects.filter(version=version).order_by("-created_at", "-pk")
    since = StageChange.objects.filter(version=version, to_stage=Stage.PRODUCTION).aggregate(at=Max("created_at"))
    return ApprovalChain(
        requests=bounded(requests, _request_row),
        stage_changes=bounded(
            changes,
            lambda c: StageChangeRow(
                c.created_at, c.from_stage, c.to_stage, _name(c.actor), c.reason, c.request_id, c.rolled_back_at
            ),
        ),
        attestations=bounded(
            attestations,
            lambda a: AttestationRow(
                a.pk, a.stage, a.request_id, a.keyid, a.statement_sha256, a.subject_sha256, a.created_at, a.envelope
            ),
        ),
        production_since=since["at"],
    )
