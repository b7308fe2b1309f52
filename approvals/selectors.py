"""Reads for approvals: the evidence a request needs, what is missing, the queue, the timeline."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan

from approvals.choices import SEVERITY_RANK, Action, DecisionKind, Severity
from approvals.models import Attestation, Decision, Finding, PromotionRequest, StageChange
from portal.core.roles import user_roles
from registry.choices import JobKind, JobStatus, Verdict
from registry.evidence.benchmark import slo_verdict
from registry.evidence.scoring import LOWER_IS_BETTER
from registry.models import Job, ModelVersion


@dataclass
class EvidenceItem:
    key: str  # validation | benchmark | card_complete | signature | findings
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
        return (
            f"it ran with margin {job.parameters.get('margin')}, looser than the model's {model.noninferiority_margin}"
        )
    if production is not None:
        check = next((c for c in (job.result or {}).get("checks", []) if c["name"] == "non-inferiority"), None)
        if not check or check["verdict"] != "pass" or (check.get("details") or {}).get("version") != production.number:
            return f"it was not compared with v{production.number}, the version in production now"
    return None


def _validation_item(version: ModelVersion, jobs, production: ModelVersion | None) -> EvidenceItem:
    refusals = []
    job = None
    for candidate in jobs.passed_validations().order_by("-finished_at")[:20]:
        refusal = _validation_refusal(candidate, version, production)
        if refusal is None:
            job = candidate
            break
        refusals.append(f"#{candidate.pk}: {refusal}")
    if job:
        message = f"Validation #{job.pk} passed on {job.dataset.name}."
    else:
        message = "No passed validation on this artifact" + (f" that counts ({refusals[0]})" if refusals else "") + "."
    return EvidenceItem(
        "validation",
        "Validation passed",
        job is not None,
        _with_latest(message, jobs, JobKind.VALIDATION, job),
        job,
        _in_flight(jobs, JobKind.VALIDATION),
    )


def _benchmark_item(version: ModelVersion, jobs, device: str) -> EvidenceItem:
    model = version.model
    candidates = jobs.evidence(JobKind.BENCHMARK).filter(verdict=Verdict.PASSED).order_by("-finished_at")
    # Judged again by the model's SLO now: a run that passed a looser (or no) SLO does not count.
    job = next((j for j in candidates if j.ran_on(device) and _meets_slo_now(j, model)), None)
    where = f" on a {device.upper()}" if device else ""
    message = (
        f"Benchmark #{job.pk} met the SLO on {job.result['runtime']['provider']}."
        if job
        else f"No benchmark{where} that meets the model's SLO on this artifact"
        + (
            ""
            if model.slo_p99_latency_ms or model.slo_min_throughput
            else " (set the model's SLO first: a benchmark without an SLO has no verdict)"
        )
        + "."
    )
    return EvidenceItem(
        "benchmark",
        f"Benchmark meets the SLO{where}",
        job is not None,
        _with_latest(message, jobs, JobKind.BENCHMARK, job),
        job,
        _in_flight(jobs, JobKind.BENCHMARK),
    )


def _signature_item(version: ModelVersion, policy: dict) -> EvidenceItem:
    """A signature is part of the upload: an unsigned version never gets one, so the message says what to do."""
    if version.signed_by:
        message = f"Signed by {version.signed_by} (OpenSSF model signing), verified against the files on upload."
    else:
        message = (
            f"{version} was uploaded without a model signature, and the {policy.get('risk_tier', '')} tier's policy "
            "for this step requires one: sign the files with model_signing and upload them, with the signature, "
            "as a new version."
        )
    return EvidenceItem("signature", "Model signature verified", bool(version.signed_by), message)


def _card_item(version: ModelVersion) -> EvidenceItem:
    missing = version.model.card_missing
    return EvidenceItem(
        "card_complete",
        "Model card complete",
        not missing,
        "All eight sections are written." if not missing else f"Missing: {', '.join(missing)}.",
    )


def _findings_item(version: ModelVersion, severities: list[str]) -> EvidenceItem:
    """Unresolved findings of the severities the policy names hold the step back until verified or accepted."""
    blocking = list(
        Finding.objects.unresolved()
        .filter(version=version, severity__in=severities)
        .order_by("due_date", "pk")
        .values_list("pk", "severity", "status", "title")[:6]
    )
    named = " or ".join(s for s in Severity.values if s in severities)
    if not blocking:
        return EvidenceItem("findings", f"No unresolved {named} finding", True, f"No {named} finding is unresolved.")
    listed = "; ".join(f"#{pk} {sev} ({status}): {title[:80]}" for pk, sev, status, title in blocking[:5])
    more = " …" if len(blocking) > 5 else ""
    return EvidenceItem(
        "findings",
        f"No unresolved {named} finding",
        False,
        f"Unresolved {named} findings hold this step back until a reviewer verifies the fix or a risk reviewer "
        f"accepts the risk: {listed}{more}.",
    )


def blocking_severities(policy: dict) -> list[str]:
    return [s for s in policy.get("blocking_findings") or [] if s in Severity.values]


def attestation_list() -> QuerySet[Attestation]:
    return Attestation.objects.order_by("-created_at", "-pk")


def evidence_for(version: ModelVersion, policy: dict, artifact_sha256: str | None = None) -> list[EvidenceItem]:
    """Each piece of evidence the policy asks for, found on the exact artifact digest."""
    wanted = policy.get("evidence", {})
    jobs = Job.objects.filter(version=version, artifact_sha256=artifact_sha256 or version.sha256).select_related(
        "dataset"
    )
    items = []
    if wanted.get("validation"):
        # Promoting to production replaces the version there: the validation must have been compared with it.
        production = (
            ModelVersion.objects.production_other_than(version)
            if policy.get("transition") == "test->production"
            else None
        )
        items.append(_validation_item(version, jobs, production))
    if wanted.get("benchmark"):
        items.append(_benchmark_item(version, jobs, wanted.get("benchmark_device") or ""))
    if wanted.get("card_complete"):
        items.append(_card_item(version))
    if wanted.get("signature"):
        items.append(_signature_item(version, policy))
    severities = blocking_severities(policy)
    if severities:
        items.append(_findings_item(version, severities))
    return items


# --- findings ------------------------------------------------------------------------------------------------


def finding_list() -> QuerySet[Finding]:
    """Findings with what their rows show, and ``severity_rank`` (4 critical … 1 low) to sort by."""
    rank = Case(*(When(severity=s, then=Value(r)) for s, r in SEVERITY_RANK.items()), output_field=IntegerField())
    return Finding.objects.select_related(
        "version", "version__model", "version__model__team", "owner", "raised_by"
    ).annotate(severity_rank=rank)


def findings_of(version: ModelVersion) -> list[Finding]:
    """The version's findings, unresolved and most severe first, then the resolved ones; each given the
    version (and its model and team, as read) rather than joining them again."""
    rows = list(Finding.objects.filter(version=version).select_related("owner", "raised_by"))
    for finding in rows:
        finding.version = version
    return sorted(rows, key=lambda f: (f.is_resolved, -SEVERITY_RANK[f.severity], f.due_date, f.pk))


def unresolved_counts(version_ids) -> dict[int, dict[str, int]]:
    """Per version: how many unresolved findings of each severity (one query for a page of rows)."""
    counts: dict[int, dict[str, int]] = {}
    rows = (
        Finding.objects.unresolved()
        .filter(version_id__in=list(version_ids))
        .values("version_id", "severity")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts.setdefault(row["version_id"], {})[row["severity"]] = row["n"]
    return counts


def _meets_slo_now(job: Job, model) -> bool:
    if not (job.result or {}).get("results"):
        return False
    return (
        slo_verdict(job.result, p99_ms=model.slo_p99_latency_ms, min_throughput=model.slo_min_throughput)["passed"]
        is True
    )


def _in_flight(jobs, kind: str) -> Job | None:
    return jobs.filter(kind=kind).in_flight().order_by("-created_at").first()


def _with_latest(message: str, jobs, kind: str, counted: Job | None) -> str:
    """Add what happened to the latest job of this kind, when it is not the one that counts."""
    latest = jobs.filter(kind=kind).order_by("-created_at").first()
    if latest is None or latest == counted:
        return message
    if latest.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        return f"{message} Job #{latest.pk} is {latest.status} ({latest.progress}%)."
    outcome = latest.error or latest.message
    return (
        f"{message} The latest, #{latest.pk}, ended {latest.get_status_display().lower()}"
        + (f" with verdict {latest.verdict}" if latest.verdict else "")
        + (f": {outcome[:160]}" if outcome else ".")
    )


def approvals_status(request: PromotionRequest) -> dict:
    """Per role: needed, given, and who; plus whether all are in."""
    needed = dict(request.policy.get("approvals", {}))
    given: dict[str, list[str]] = {role: [] for role in needed}
    for decision in request.decisions.all():
        if decision.decision == DecisionKind.APPROVE and decision.role in given:
            given[decision.role].append(decision.person.get_username())
    rows = [
        {"role": role, "needed": count, "given": given[role], "done": len(given[role]) >= count}
        for role, count in needed.items()
    ]
    owner = [d for d in request.decisions.all() if d.role == "owner" and d.decision == DecisionKind.APPROVE]
    complete = all(r["done"] for r in rows) or (request.policy.get("owner_may_approve") and bool(owner))
    return {"rows": rows, "complete": complete, "owner_approved": bool(owner)}


def roles_user_can_decide_in(user, request: PromotionRequest) -> list[str]:
    """The roles in which ``user`` may still approve ``request`` (empty: no decision is theirs to make)."""
    # Separation of duties: the requester never decides, nor does the artifact's author on a promotion.
    authors = (request.requester_id, request.version.created_by_id if request.action == Action.PROMOTE else None)
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
    return PromotionRequest.objects.select_related("version", "version__model", "version__model__team", "requester")


def requests_of(version: ModelVersion, limit: int) -> list[PromotionRequest]:
    """The version's latest requests, each given the version already read."""
    rows = list(
        PromotionRequest.objects.filter(version=version).select_related("requester").order_by("-created_at")[:limit]
    )
    for promotion in rows:
        promotion.version = version
    return rows


def queue_for(user) -> QuerySet[PromotionRequest]:
    """Open requests that need this user, oldest first: the rules of roles_user_can_decide_in, in SQL, on
    the columns the services keep on the request (waiting_roles, artifact_author), so that the database walks
    the open requests in order and stops when the page is full, whatever the number open."""
    if not user.is_authenticated:
        return PromotionRequest.objects.none()
    # A role of the user's that is still short of approvals; or the owner, where the policy counts them. Every
    # condition is on the request's own row (the owner's versions are one list, read once), so the page is the
    # first rows that match on the index of open requests by age: the requests it passes over are never joined.
    owned = ModelVersion.objects.filter(model__owner=user).values("pk")
    need = Q(policy__owner_may_approve=True, version__in=owned)
    for role in user_roles(user):
        # STRPOS, not LIKE: PostgreSQL's statistics say few rows match a LIKE on waiting_roles, since the
        # closed requests (most of the table) have none, and it would then join every open request and sort
        # them; the position has no statistics, so it plans the walk along the index that stops at a page.
        need |= Q(GreaterThan(StrIndex("waiting_roles", Value(f"|{role}|")), 0))
    return (
        request_list()
        .open()
        .exclude(requester=user)
        .exclude(artifact_author=user)
        .exclude(Exists(Decision.objects.filter(request=OuterRef("pk"), person=user)))
        .filter(need)
        .order_by("created_at", "pk")
    )


def open_request_of(version) -> PromotionRequest | None:
    """The version's request that is still open (at most one: the database says so)."""
    return PromotionRequest.objects.open().filter(version=version).first()


def timeline(model) -> QuerySet[StageChange]:
    return StageChange.objects.filter(version__model=model).select_related("version", "actor", "request")
