"""Reads for approvals: the evidence a request needs, what is missing, the queue, the timeline."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from approvals.choices import DecisionKind, RequestStatus
from approvals.models import PromotionRequest, StageChange
from portal.roles import user_roles
from registry.choices import JobKind, JobStatus, Verdict
from registry.models import Job, ModelVersion


@dataclass
class EvidenceItem:
    key: str  # validation | benchmark | card_complete
    label: str
    satisfied: bool
    message: str
    job: Job | None = None


def evidence_for(version: ModelVersion, policy: dict, artifact_sha256: str | None = None) -> list[EvidenceItem]:
    """Each piece of evidence the policy asks for, found on the exact artifact digest."""
    digest = artifact_sha256 or version.sha256
    wanted = policy.get("evidence", {})
    items = []
    jobs = Job.objects.filter(version=version, artifact_sha256=digest, status=JobStatus.SUCCEEDED)
    if wanted.get("validation"):
        job = jobs.filter(kind=JobKind.VALIDATION, verdict=Verdict.PASSED).order_by("-finished_at").first()
        items.append(EvidenceItem(
            "validation", "Validation passed", job is not None,
            f"Validation #{job.pk} passed on {job.dataset.name}." if job else
            "No passed validation on this artifact: start one on a dataset.", job))
    if wanted.get("benchmark"):
        device = wanted.get("benchmark_device") or ""
        candidates = jobs.filter(kind=JobKind.BENCHMARK, verdict=Verdict.PASSED).order_by("-finished_at")
        job = next((j for j in candidates if not device or (j.result or {}).get("runtime", {}).get("device") == device),
                   None)
        where = f" on a {device.upper()}" if device else ""
        items.append(EvidenceItem(
            "benchmark", f"Benchmark meets the SLO{where}", job is not None,
            f"Benchmark #{job.pk} met the SLO on {job.result['runtime']['provider']}." if job else
            f"No benchmark{where} that meets the model's SLO on this artifact: start one"
            + ("" if version.model.slo_p99_latency_ms or version.model.slo_min_throughput
               else " (and set the model's SLO first: a benchmark without an SLO has no verdict)") + ".", job))
    if wanted.get("card_complete"):
        missing = version.model.card_missing
        items.append(EvidenceItem(
            "card_complete", "Model card complete", not missing,
            "All eight sections are written." if not missing else f"Missing: {', '.join(missing)}."))
    return items


def approvals_status(request: PromotionRequest) -> dict:
    """Per role: needed, given, and who; plus whether all are in."""
    needed = dict(request.policy.get("approvals", {}))
    given: dict[str, list[str]] = {role: [] for role in needed}
    for decision in request.decisions.all():
        if decision.decision == DecisionKind.APPROVE and decision.role in given:
            given[decision.role].append(decision.person.get_username())
    rows = [{"role": role, "needed": count, "given": given[role], "done": len(given[role]) >= count}
            for role, count in needed.items()]
    owner = [d for d in request.decisions.all() if d.role == "owner" and d.decision == DecisionKind.APPROVE]
    complete = all(r["done"] for r in rows) or (request.policy.get("owner_may_approve") and bool(owner))
    return {"rows": rows, "complete": complete, "owner_approved": bool(owner)}


def roles_user_can_decide_in(user, request: PromotionRequest) -> list[str]:
    """The roles in which ``user`` may still approve ``request`` (empty: no decision is theirs to make)."""
    if not user.is_authenticated or user.pk == request.requester_id or not request.is_open:
        return []
    if any(d.person_id == user.pk for d in request.decisions.all()):
        return []
    status = approvals_status(request)
    open_roles = [r["role"] for r in status["rows"] if not r["done"]]
    mine = [role for role in open_roles if role in user_roles(user)]
    if request.policy.get("owner_may_approve") and request.version.model.owner_id == user.pk:
        mine.append("owner")
    return mine


def request_list() -> QuerySet[PromotionRequest]:
    return PromotionRequest.objects.select_related("version", "version__model", "version__model__team",
                                                   "requester")


def queue_for(user) -> list[PromotionRequest]:
    """Open requests that need this user, oldest first."""
    requests = request_list().filter(status__in=[RequestStatus.OPEN, RequestStatus.APPROVED]).exclude(
        requester=user).prefetch_related("decisions__person").order_by("created_at")
    return [r for r in requests if roles_user_can_decide_in(user, r)]


def timeline(model) -> QuerySet[StageChange]:
    return StageChange.objects.filter(version__model=model).select_related("version", "actor", "request")


SLA_WORKING_DAYS = 5


def working_days_since(moment) -> int:
    """Whole working days (Monday to Friday) from ``moment`` to now."""
    import datetime as dt

    from django.utils import timezone

    start, end = moment.date(), timezone.now().date()
    days = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days += 1
    return days
