"""Version pages: upload, the version's page (evidence, release, monitoring), download."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from portal.core.errors import ApplicationError, Conflict
from portal.core.views import form_error
from registry import permissions, selectors, services
from registry.downloads import version_download_response
from registry.forms import BenchmarkJobForm, ModelVersionForm, ValidationJobForm
from registry.services.integrity import version_integrity_failed

OBSERVATIONS_SHOWN = 10


@login_required
def version_create(request: HttpRequest, name: str) -> HttpResponse:
    model = selectors.model_get(name=name)
    permissions.require_add_version(request.user, model)
    form = ModelVersionForm(request.POST or None, request.FILES or None, model=model)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # A chosen file wins over an upload id the page kept from a refused round (the id is used up by then).
        from_uploads = bool(data["artifact_upload"]) and not data["artifact"]
        files = (
            {"artifact_upload": data["artifact_upload"], "data_uploads": data["data_uploads"]}
            if from_uploads
            else {"artifact": data["artifact"], "data": data["data"]}
        )
        create = services.model_version_create_from_uploads if from_uploads else services.model_version_create
        try:
            version = create(
                actor=request.user,
                model=model,
                **files,
                source_code_url=data["source_code_url"],
                source_commit=data["source_commit"].lower(),
                training_run_url=data["training_run_url"],
                training_data_ref=data["training_data_ref"],
                trained_at=data["trained_at"],
                parent_number=data["parent_number"],
                metrics=data["metrics"],
                notes=data["notes"],
                signature=data["signature"],
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            files = f" ({len(version.files)} files)" if version.is_set else ""
            messages.success(request, f"Uploaded {version}{files}: digest {version.sha256[:12]}…")
            return redirect(version)
    context = {
        "form": form,
        "model": model,
        "data_field": form["data"],  # form.data in a template is the bound data, not the field
        "resumable_bytes": settings.GATEHOUSE_RESUMABLE_FORM_MB * 1024 * 1024,
    }
    return render(request, "registry/version_form.html", context)


@login_required
@permission_required("registry.view_modelversion", raise_exception=True)
def version_detail(request: HttpRequest, name: str, number: int) -> HttpResponse:
    return render_version(request, selectors.version_get(name=name, number=number))


def render_version(request: HttpRequest, version, *, validation_form=None, benchmark_form=None, status=200):
    """The version page; the job views pass a bound form back to it to show its errors by the fields. Its
    release panel is the workflow's ({% release_panel %})."""
    model = version.model
    can_validate = permissions.can_run_validation(request.user, model)
    can_benchmark = permissions.can_run_benchmark(request.user, model)
    return render(
        request,
        "registry/version_detail.html",
        {
            "version": version,
            "model": model,
            "can_download": permissions.can_download(request.user),
            "jobs": selectors.version_jobs(version=version) if permissions.can_view_jobs(request.user) else [],
            "validation_form": (validation_form or ValidationJobForm(version=version)) if can_validate else None,
            "benchmark_form": (benchmark_form or BenchmarkJobForm(offer=selectors.benchmark_device_offer(version)))
            if can_benchmark
            else None,
            "benchmarks_by_class": selectors.latest_benchmarks_by_class(version),
            "has_datasets": model.datasets.exists(),
            "observations": selectors.observation_list(version=version)[:OBSERVATIONS_SHOWN],
            "observation_chart": _observation_chart(version),
        },
        status=status,
    )


def _observation_chart(version) -> dict | None:
    """Metrics and the largest PSI over the last year of observations, for the version page's chart."""
    rows = list(selectors.observation_list(version=version).values("observed_at", "metrics", "max_psi")[:365])
    if not rows:
        return None
    rows.reverse()
    names = sorted({k for r in rows for k in r["metrics"]})
    return {
        "x": [r["observed_at"].isoformat() for r in rows],
        "max_psi": [r["max_psi"] for r in rows],
        "metrics": {n: [r["metrics"].get(n) for r in rows] for n in names},
        "floors": {n: version.model.metric_floors[n] for n in names if n in version.model.metric_floors},
    }


@login_required
def version_download(request: HttpRequest, name: str, number: int) -> HttpResponse:
    """The ONNX file, one file of a set (?path=), or a set as a tar with its manifest."""
    permissions.require_download(request.user)
    version = selectors.version_get(name=name, number=number)
    try:
        return version_download_response(
            version,
            request.GET.get("path"),
            on_mismatch=lambda reason: version_integrity_failed(version_id=version.pk, reason=reason),
        )
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect(version)
