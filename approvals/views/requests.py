"""Release pages: open a request from a version, the approval queue, the request page, decisions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_POST

from approvals import selectors, services
from approvals.choices import RequestStatus
from approvals.diff import against_production
from approvals.filters import PromotionRequestFilterSet
from approvals.forms import DecisionForm, RequestForm, WithdrawForm
from approvals.models import PromotionRequest
from approvals.workflow import SLA_WORKING_DAYS
from fleet.devices import queue_for
from fleet.selectors import fleet_now
from portal.core.calendar import working_days
from portal.core.errors import ApplicationError
from portal.core.views import filtered, form_error, paginate
from registry import permissions as registry_permissions
from registry import selectors as registry_selectors


def _request_get(pk: int) -> PromotionRequest:
    request = selectors.request_list().prefetch_related("decisions__person").filter(pk=pk).first()
    if request is None:
        raise Http404(f"There is no request {pk}.")
    return request


@login_required
@require_POST
def request_open(request: HttpRequest, name: str, number: int, action: str) -> HttpResponse:
    version = registry_selectors.version_get(name=name, number=number)
    form = RequestForm(request.POST)
    if form.is_valid():
        try:
            opened = services.promotion_request_open(
                actor=request.user, version=version, action=action, justification=form.cleaned_data["justification"]
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            if opened.status == RequestStatus.APPLIED:
                messages.success(
                    request,
                    f"{version} moved to {opened.to_stage}: the policy needs no approval and the evidence is in.",
                )
            else:
                messages.success(request, f"Request #{opened.pk} is open.")
            return redirect(opened)
    messages.error(
        request, "The request was not opened: " + " ".join(str(e) for errors in form.errors.values() for e in errors)
    )
    return redirect(version)


# What the queue's rows show: the request, its version's number, the model's name, tier and team, the requester's
# name. Every other column of five tables was compiled, sent and turned into objects for nothing.
QUEUE_COLUMNS = (
    *("from_stage", "to_stage", "status", "created_at", "policy", "version", "requester"),
    *("version__number", "version__model", "version__model__name", "version__model__risk_tier"),
    *("version__model__team", "version__model__team__name", "requester__username"),
)


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """The open requests that need the current user, oldest first, with their age against the SLA."""
    registry_permissions.require_view_registry(request.user)
    page, query = paginate(request, selectors.queue_for(request.user).only(*QUEUE_COLUMNS))
    fleet = SimpleLazyObject(fleet_now)  # read only if a request on the page needs a GPU benchmark
    counts = selectors.unresolved_counts(p.version_id for p in page.object_list)  # one query for the page
    for promotion in page.object_list:
        mine = counts.get(promotion.version_id, {})
        promotion.findings_unresolved = sum(mine.values())
        promotion.findings_blocking = sum(
            n for s, n in mine.items() if s in selectors.blocking_severities(promotion.policy)
        )
        wanted = promotion.policy.get("evidence", {})
        device = wanted.get("benchmark_device") if wanted.get("benchmark") else ""
        # IT sees at once which requests wait on hardware nobody has started.
        promotion.device_offline = device if device and not fleet.serves(queue_for(device)) else ""
    return render(request, "approvals/queue.html", {"page": page, "query": query, "sla_days": SLA_WORKING_DAYS})


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    registry_permissions.require_view_registry(request.user)
    filterset, queryset, status = filtered(
        request, PromotionRequestFilterSet, selectors.request_list(), default_order=("-created_at", "-pk")
    )
    page, query = paginate(request, queryset)
    return render(
        request,
        "approvals/request_list.html",
        {
            "page": page,
            "query": query,
            "filter": filterset,
            "status": request.GET.get("status"),
            "statuses": RequestStatus.choices,
            "mine": request.GET.get("requester") == request.user.get_username(),
        },
        status=status,
    )


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    registry_permissions.require_view_registry(request.user)
    promotion = _request_get(pk)
    version = promotion.version
    evidence = selectors.evidence_for(version, promotion.policy, promotion.artifact_sha256)
    findings = selectors.findings_of(version)
    validation = next((e.job for e in evidence if e.key == "validation" and e.job), None)
    benchmark = next((e.job for e in evidence if e.key == "benchmark" and e.job), None)
    return render(
        request,
        "approvals/request_detail.html",
        {
            "req": promotion,
            "version": version,
            "model": version.model,
            "evidence": evidence,
            "validation": validation,
            "benchmark": benchmark,
            "approvals": selectors.approvals_status(promotion),
            "findings": findings,
            "unresolved_findings": [f for f in findings if not f.is_resolved],
            "blocking": selectors.blocking_severities(promotion.policy),
            "can_open_finding": services.can_open_finding(request.user, version),
            "today": timezone.localdate(),
            "decide_roles": selectors.roles_user_can_decide_in(request.user, promotion),
            "my_decision": next((d for d in promotion.decisions.all() if d.person_id == request.user.pk), None),
            "author": promotion.action == "promote" and promotion.version.created_by_id == request.user.pk,
            "decision_form": DecisionForm(),
            "withdraw_form": WithdrawForm(),
            "can_withdraw": promotion.is_open and promotion.requester_id == request.user.pk,
            # Only an open request is compared with production now; a closed one was decided against what was then.
            "diff": against_production(version) if promotion.is_open else None,
            "age_days": working_days(promotion.created_at),
            "sla_days": SLA_WORKING_DAYS,
            "can_validate": registry_permissions.can_run_validation(request.user, version.model),
            "can_benchmark": registry_permissions.can_run_benchmark(request.user, version.model),
            "datasets": version.model.datasets.order_by("name"),
            "floors_text": "\n".join(f"{k} = {v}" for k, v in version.model.metric_floors.items()),
            # The devices a worker online can run, and the one this request's policy needs (the button's default).
            "benchmark_offer": registry_selectors.benchmark_device_offer(
                version, wanted=promotion.policy.get("evidence", {}).get("benchmark_device") or ""
            )
            if promotion.is_open and registry_permissions.can_run_benchmark(request.user, version.model)
            else None,
            "policy_evidence": [
                f"{k} ({v})" if v is not True else k for k, v in promotion.policy.get("evidence", {}).items() if v
            ],
        },
    )


@login_required
@require_POST
def request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    promotion = _request_get(pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.promotion_request_decide(
                actor=request.user,
                request=promotion,
                decision=form.cleaned_data["decision"],
                comment=form.cleaned_data["comment"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            promotion.refresh_from_db()
            where = {"retired": "retired", "test": "in test", "production": "in production"}.get(
                promotion.to_stage, promotion.to_stage
            )
            messages.success(
                request,
                {
                    RequestStatus.APPLIED: f"Approved: {promotion.version} is now {where}.",
                    RequestStatus.REJECTED: "Rejected; the requester sees your reason.",
                }.get(promotion.status, "Your decision is recorded."),
            )
    else:
        messages.error(request, "Choose approve or reject.")
    return redirect(promotion)


@login_required
@require_POST
def request_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    promotion = _request_get(pk)
    form = WithdrawForm(request.POST)
    form.is_valid()
    try:
        services.promotion_request_withdraw(
            actor=request.user, request=promotion, reason=form.cleaned_data.get("reason", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Request withdrawn.")
    return redirect(promotion)
