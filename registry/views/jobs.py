"""Evidence job pages: start from a version, list, watch one live, compare two benchmarks."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.core.errors import ApplicationError
from portal.core.views import filtered, form_error, paginate
from registry import permissions, selectors
from registry.choices import JobKind
from registry.filters import JobFilterSet
from registry.forms import BenchmarkJobForm, ValidationJobForm
from registry.services import jobs as job_services
from registry.views.versions import render_version


@login_required
@require_POST
def job_start(request: HttpRequest, name: str, number: int, kind: str) -> HttpResponse:
    version = selectors.version_get(name=name, number=number)
    if kind == JobKind.VALIDATION:
        form = ValidationJobForm(request.POST, version=version)
    elif kind == JobKind.BENCHMARK:
        form = BenchmarkJobForm(request.POST, offer=selectors.benchmark_device_offer(version))
    else:
        raise Http404(f"There is no job kind '{kind}'.")
    if form.is_valid():
        data = form.cleaned_data
        try:
            if kind == JobKind.VALIDATION:
                job = job_services.job_create(
                    actor=request.user,
                    version=version,
                    kind=kind,
                    dataset=data["dataset"],
                    parameters={"floors": data["floors"], "margin": data["margin"]},
                )
            else:
                job = job_services.job_create(
                    actor=request.user,
                    version=version,
                    kind=kind,
                    device=data["device"],
                    parameters=form.parameters(),
                )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"{job.get_kind_display()} job #{job.pk} is queued on '{job.queue}'.")
            return redirect(job)
    messages.error(request, "The job was not started: see the marked fields below.")
    forms = {"validation_form": form} if kind == JobKind.VALIDATION else {"benchmark_form": form}
    return render_version(request, version, status=400, **forms)


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    permissions.require_view_jobs(request.user)
    filterset, queryset, status = filtered(
        request, JobFilterSet, selectors.job_list(), default_order=("-created_at", "-pk")
    )
    page, query = paginate(request, queryset, capped=True)
    return render(
        request,
        "registry/job_list.html",
        {
            "filter": filterset,
            "page": page,
            "query": query,
            "filtered": any(v for k, v in request.GET.items() if k != "page"),
        },
        status=status,
    )


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require_view_jobs(request.user)
    job = selectors.job_get(pk=pk)
    charts = _benchmark_charts([job]) if job.kind == JobKind.BENCHMARK and job.result else None
    other = (
        selectors.job_list()
        .filter(version__model=job.version.model, kind=JobKind.BENCHMARK, status="succeeded")
        .exclude(pk=job.pk)
        .order_by("-created_at")[:10]
        if job.kind == JobKind.BENCHMARK
        else []
    )
    return render(
        request,
        "registry/job_detail.html",
        {
            "job": job,
            "version": job.version,
            "model": job.version.model,
            "charts": charts,
            "can_cancel": not job.finished and permissions.can_cancel_job(request.user, job),
            "compare_with": other,
            "waiting": selectors.job_waiting(job),
        },
    )


@login_required
def job_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """The small document the job page polls."""
    permissions.require_view_jobs(request.user)
    job = selectors.job_get(pk=pk)
    return JsonResponse(
        {
            "status": job.status,
            "status_label": job.get_status_display(),
            "progress": job.progress,
            "message": job.message,
            "finished": job.finished,
            "verdict": job.verdict,
            "attempts": job.attempts,
            "log_tail": job.log[-4000:],
            "error": job.error,
            "waiting": selectors.job_waiting(job),
        }
    )


@login_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require_view_jobs(request.user)
    job = selectors.job_get(pk=pk)
    try:
        job_services.job_cancel(actor=request.user, job=job)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Cancellation requested.")
    return redirect(job)


@login_required
def job_compare(request: HttpRequest) -> HttpResponse:
    permissions.require_view_jobs(request.user)
    try:
        ids = [int(request.GET["a"]), int(request.GET["b"])]
    except (KeyError, ValueError):
        messages.error(request, "Choose two benchmark jobs to compare: open a benchmark and pick another one.")
        return redirect("jobs:list")
    jobs = [selectors.job_get(pk=pk) for pk in ids]
    if any(j.kind != JobKind.BENCHMARK or not j.result for j in jobs):
        messages.error(request, "Only finished benchmark jobs can be compared.")
        return redirect(jobs[0])
    batches = sorted({r["batch_size"] for j in jobs for r in j.result["results"]})
    rows = []
    for batch in batches:
        cells = [next((r for r in j.result["results"] if r["batch_size"] == batch), None) for j in jobs]
        delta = None
        if all(cells):
            a, b = cells[0]["throughput_samples_s"], cells[1]["throughput_samples_s"]
            delta = (b - a) / a * 100 if a else None
        rows.append({"batch": batch, "cells": cells, "throughput_delta_pct": delta})
    return render(
        request,
        "registry/job_compare.html",
        {
            "jobs": jobs,
            "rows": rows,
            "charts": _benchmark_charts(jobs),
        },
    )


def _benchmark_charts(jobs) -> dict:
    """Plotly figure data: latency distribution per batch size, and throughput against batch size."""
    latency, throughput = [], []
    for job in jobs:
        label = f"#{job.pk} {job.version.model.name} v{job.version.number} ({job.result['runtime']['provider']})"
        results = job.result["results"]
        for r in results:
            hist = r["latency_histogram_ms"]
            centres = [(a + b) / 2 for a, b in zip(hist["edges"][:-1], hist["edges"][1:], strict=True)]
            latency.append(
                {
                    "type": "bar",
                    "x": centres,
                    "y": hist["counts"],
                    "opacity": 0.6,
                    "name": f"{label} · batch {r['batch_size']}",
                }
            )
        throughput.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": label,
                "x": [r["batch_size"] for r in results],
                "y": [r["throughput_samples_s"] for r in results],
            }
        )
    return {"latency": latency, "throughput": throughput}
