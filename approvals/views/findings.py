"""Findings pages: the list (filters shared with the API), a finding with its thread and steps, the forms."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from approvals import selectors, services
from approvals.choices import FindingStatus, Severity
from approvals.filters import FindingFilterSet
from approvals.finding_rules import FINDING_TRANSITIONS
from approvals.forms import FindingCommentForm, FindingForm, FindingStepForm
from approvals.models import Finding, PromotionRequest
from portal.core.errors import ApplicationError
from portal.core.views import filtered, form_error, paginate
from registry import permissions as registry_permissions
from registry import selectors as registry_selectors


def _finding_get(pk: int) -> Finding:
    finding = selectors.finding_list().filter(pk=pk).first()
    if finding is None:
        raise Http404(f"There is no finding {pk}.")
    return finding


@login_required
def finding_list(request: HttpRequest) -> HttpResponse:
    registry_permissions.require_view_registry(request.user)
    filterset, queryset, status = filtered(
        request, FindingFilterSet, selectors.finding_list(), default_order=("-severity_rank", "due_date", "pk")
    )
    if not filterset.is_bound:  # a fresh visit shows what still needs work
        queryset = queryset.filter(status__in=[FindingStatus.OPEN, FindingStatus.REMEDIATED])
    page, query = paginate(request, queryset)
    return render(
        request,
        "approvals/finding_list.html",
        {"page": page, "query": query, "filter": filterset, "bound": filterset.is_bound, "today": _today()},
        status=status,
    )


def _today():
    return timezone.localdate()


@login_required
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    registry_permissions.require_view_registry(request.user)
    finding = _finding_get(pk)
    return render(
        request,
        "approvals/finding_detail.html",
        {
            "finding": finding,
            "version": finding.version,
            "model": finding.version.model,
            "thread": finding.comments.select_related("author"),
            "steps": services.allowed_actions(request.user, finding),
            "step_form": FindingStepForm(),
            "comment_form": FindingCommentForm() if services.can_comment(request.user, finding) else None,
            "can_edit": services.can_edit_finding(request.user, finding),
            "overdue": not finding.is_resolved and finding.due_date < _today(),
        },
    )


@login_required
def finding_create(request: HttpRequest, name: str, number: int) -> HttpResponse:
    version = registry_selectors.version_get(name=name, number=number)
    if not services.can_open_finding(request.user, version):
        raise PermissionDenied(
            f"Your role cannot open findings on {version.model.name}: IT operations, risk reviewers and the "
            "model's team do."
        )
    asked = (request.POST.get("request") or request.GET.get("request") or "").strip()
    under_review = PromotionRequest.objects.filter(pk=int(asked), version=version).first() if asked.isdigit() else None
    if request.method == "POST":
        form = FindingForm(request.POST)
        if form.is_valid():
            try:
                finding = services.finding_open(
                    actor=request.user, version=version, request=under_review, **form.cleaned_data
                )
            except ApplicationError as exc:
                form_error(form, exc)
            else:
                messages.success(request, f"Finding #{finding.pk} is open; {finding.owner.get_username()} was told.")
                return redirect(finding)
    else:
        severity = request.GET.get("severity") if request.GET.get("severity") in Severity.values else Severity.MEDIUM
        form = FindingForm(initial=FindingForm.initial_for(version.model, severity))
    return render(
        request,
        "approvals/finding_form.html",
        {"form": form, "version": version, "model": version.model, "under_review": under_review, "finding": None},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def finding_edit(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _finding_get(pk)
    if not services.can_edit_finding(request.user, finding):
        raise PermissionDenied(
            "Only reviewers and the person who raised it edit a finding, and only while it is unresolved."
        )
    if request.method == "POST":
        form = FindingForm(request.POST)
        if form.is_valid():
            try:
                services.finding_update(actor=request.user, finding=finding, **form.cleaned_data)
            except ApplicationError as exc:
                form_error(form, exc)
            else:
                messages.success(request, "Finding saved.")
                return redirect(finding)
    else:
        form = FindingForm(
            initial={
                "title": finding.title,
                "severity": finding.severity,
                "description": finding.description,
                "owner": finding.owner.get_username(),
                "due_date": finding.due_date,
            }
        )
    return render(
        request,
        "approvals/finding_form.html",
        {"form": form, "version": finding.version, "model": finding.version.model, "finding": finding},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def finding_step(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    finding = _finding_get(pk)
    if action not in FINDING_TRANSITIONS:
        raise Http404(f"A finding has no step '{action}'.")
    form = FindingStepForm(request.POST)
    form.is_valid()
    try:
        services.finding_transition(
            actor=request.user, finding=finding, action=action, comment=form.cleaned_data.get("comment", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        finding.refresh_from_db()
        messages.success(request, f"Finding #{finding.pk} is {finding.get_status_display().lower()}.")
    return redirect(finding)


@login_required
@require_POST
def finding_comment(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _finding_get(pk)
    form = FindingCommentForm(request.POST)
    form.is_valid()
    try:
        services.finding_comment(actor=request.user, finding=finding, body=form.cleaned_data.get("body", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Comment added.")
    return redirect(f"{finding.get_absolute_url()}#thread")
