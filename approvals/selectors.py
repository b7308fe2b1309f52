"""Reads for approvals: the evidence a request needs, what is missing, the queue, the timeline."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce

from approvals.choices import DecisionKind, RequestStatus
from approvals.models import Decision, PromotionRequest, StageChange
from portal.roles import user_roles
from registry.choices import JobKind, JobStatus, Verdict
from registry.models import Job, ModelVersion
from registry.runtimes.benchmark import slo_verdict
from registry.runtimes.validation import LOWER_IS_BETTER


@dataclass
class EvidenceItem:
    key: str  # validation | benchmark | card_complete
    label: str
    satisfied: bool
    message: str
    job: Job | None = None
    running: Job | None = None  # a job of this kind queued or running now


def _validation_refusal(job: Job, version: ModelVersion, production: ModelVersion | None) -> str | None:
    """Why a passed validation does not count as evidence, or None when it does: it must have been judged by
    the model's own floors and margin (or stricter), and — given a production version to replace — against
    that version. (A rollback passes ``production=None``: it rests on the version's earlier evidence.)"""
    model = version.model
    floors = job.parameters.get("floors", {})
    for name, floor in model.metric_floors.items():
        used = floors.get(name)
        stricter = used is not None and (used <= floor if name in LOWER_IS_BETTER else used >= floor)
        if not stricter:
            return f"it ran with floor {name} {used if used is not None else 'unset'}, looser than the model's {floor}"
    if job.parameters.get("margin", float("inf")) > model.noninferiority_margin:
        return (f"it ran with margin {job.parameters.get('margin')}, looser than the model's "
                f"{model.noninferiority_margin}")
    if production is not None:
        check = next((c for c in (job.result or {}).get("checks", []) if c["name"] == "non-inferiority"), None)
        if not check or check["verdict"] != "pass" or (check.get("details") or {}).get("version") != production.number:
            return f"it was not compared with v{production.number}, the version in production now"
    return None


def evidence_for(version: ModelVersion, policy: dict, artifact_sha256: str | None = None) -> list[EvidenceItem]:
    """Each piece of evidence the policy asks for, found on the exact artifact digest."""
    digest = artifact_sha256 or version.sha256
    wanted = policy.get("evidence", {})
    items = []
    jobs = Job.objects.filter(version=version, artifact_sha256=digest).select_related("dataset")
    production = None
    if policy.get("transition") == "test->production":
        production = ModelVersion.objects.filter(model_id=version.model_id, stage="production").exclude(
            pk=version.pk).first()
    if wanted.get("validation"):
        passed = jobs.filter(kind=JobKind.VALIDATION, status=JobStatus.SUCCEEDED, verdict=Verdict.PASSED)
        refusals = []
        job = None
        for candidate in passed.order_by("-finished_at")[:20]:
            refusal = _validation_refusal(candidate, version, production)
            if refusal is None:
                job = candidate
                break
            refusals.append(f"#{candidate.pk}: {refusal}")
        if job:
            message = f"Validation #{job.pk} passed on {job.dataset.name}."
        else:
            message = "No passed validation on this artifact" + (
                f" that counts ({refusals[0]})" if refusals else "") + "."
        items.append(EvidenceItem("validation", "Validation passed", job is not None, _with_latest(
            message, jobs, JobKind.VALIDATION, job), job, _in_flight(jobs, JobKind.VALIDATION)))
    if wanted.get("benchmark"):
        device = wanted.get("benchmark_device") or ""
        candidates = jobs.filter(kind=JobKind.BENCHMARK, status=JobStatus.SUCCEEDED,
                                 verdict=Verdict.PASSED).order_by("-finished_at")
        model = version.model
        # Judged again by the model's SLO now: a run that passed a looser (or no) SLO does not count.
        job = next((j for j in candidates if ran_on(j, device) and _meets_slo_now(j, model)), None)
        where = f" on a {device.upper()}" if device else ""
        message = (f"Benchmark #{job.pk} met the SLO on {job.result['runtime']['provider']}." if job else
                   f"No benchmark{where} that meets the model's SLO on this artifact"
                   + ("" if version.model.slo_p99_latency_ms or version.model.slo_min_throughput
                      else " (set the model's SLO first: a benchmark without an SLO has no verdict)") + ".")
        items.append(EvidenceItem("benchmark", f"Benchmark meets the SLO{where}", job is not None,
                                  _with_latest(message, jobs, JobKind.BENCHMARK, job), job,
                                  _in_flight(jobs, JobKind.BENCHMARK)))
    if wanted.get("card_complete"):
        missing = version.model.card_missing
        items.append(EvidenceItem(
            "card_complete", "Model card complete", not missing,
            "All eight sections are written." if not missing else f"Missing: {', '.join(missing)}."))
    return items


def _meets_slo_now(job: Job, model) -> bool:
    if not (job.result or {}).get("results"):
        return False
    return slo_verdict(job.result, p99_ms=model.slo_p99_latency_ms,
                       min_throughput=model.slo_min_throughput)["passed"] is True


def ran_on(job: Job, device: str) -> bool:
    """Whether a benchmark ran on ``device``: "" any, "cpu", "gpu", or a GPU class such as "h100" or "a100",
    matched against the GPU names NVML reported on the worker."""
    runtime = (job.result or {}).get("runtime", {})
    if not device:
        return True
    if device in ("cpu", "gpu"):
        return runtime.get("device") == device
    names = [g.get("name", "") for g in ((job.environment or {}).get("nvml") or {}).get("gpus", [])]
    return runtime.get("device") == "gpu" and any(gpu_class(name) == device.lower() for name in names)


_GPU_CLASS = re.compile(r"\b(GB200|B200|B100|H200|H100|H20|A100|A10G|A10|A30|A40|L40S|L40|L4|T4|V100|P100|RTX\s?\w+)\b",
                        re.IGNORECASE)


def gpu_class(name: str) -> str:
    """The device class of an NVML GPU name: "NVIDIA H100 80GB HBM3" → "h100", "NVIDIA L40S" → "l40s"."""
    match = _GPU_CLASS.search(name or "")
    return match.group(1).lower().replace(" ", "") if match else ""


def _in_flight(jobs, kind: str) -> Job | None:
    return jobs.filter(kind=kind, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).order_by("-created_at").first()


def _with_latest(message: str, jobs, kind: str, counted: Job | None) -> str:
    """Add what happened to the latest job of this kind, when it is not the one that counts."""
    latest = jobs.filter(kind=kind).order_by("-created_at").first()
    if latest is None or latest == counted:
        return message
    if latest.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        return f"{message} Job #{latest.pk} is {latest.status} ({latest.progress}%)."
    outcome = latest.error or latest.message
    return f"{message} The latest, #{latest.pk}, ended {latest.get_status_display().lower()}" + (
        f" with verdict {latest.verdict}" if latest.verdict else "") + (f": {outcome[:160]}" if outcome else ".")


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
    # Separation of duties: the requester never decides, nor does the artifact's author on a promotion.
    authors = (request.requester_id, request.version.created_by_id if request.action == "promote" else None)
    if not user.is_authenticated or user.pk in authors or not request.is_open:
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


def queue_for(user) -> QuerySet[PromotionRequest]:
    """Open requests that need this user, oldest first: the rules of roles_user_can_decide_in, in SQL, so the
    queue is paged by the database whatever the number of open requests."""
    if not user.is_authenticated:
        return PromotionRequest.objects.none()
    # A role of the user's that the policy asks for and that has fewer approvals than it needs; or the owner.
    need = Q(policy__owner_may_approve=True, version__model__owner=user)
    given = {}
    for role in user_roles(user):
        # A subquery per row rather than a GROUP BY over every open request: the database can walk the
        # requests oldest first and stop when the page is full.
        approvals = (Decision.objects.filter(request=OuterRef("pk"), role=role, decision=DecisionKind.APPROVE)
                     .order_by().values("request").annotate(n=Count("pk")).values("n"))
        given[f"given_{role}"] = Coalesce(Subquery(approvals), 0)
        needed = Cast(KeyTextTransform(role, KeyTransform("approvals", "policy")), IntegerField())
        need |= Q(policy__approvals__has_key=role) & Q(**{f"given_{role}__lt": needed})
    return (request_list().filter(status__in=[RequestStatus.OPEN, RequestStatus.APPROVED]).exclude(requester=user)
            .exclude(action="promote", version__created_by=user)
            .exclude(Exists(Decision.objects.filter(request=OuterRef("pk"), person=user)))
            .alias(**given).filter(need).order_by("created_at", "pk"))


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
