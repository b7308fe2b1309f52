"""Registry pages. Thin: parse, call a selector or service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from approvals import selectors as approval_selectors
from portal import debt
from portal.errors import ApplicationError
from portal.views_helpers import form_error, paginate
from registry import permissions, selectors, services
from registry.artifacts import dataset_download_response, version_download_response
from registry.filters import RegisteredModelFilterSet
from registry.forms import (
    BenchmarkJobForm,
    DatasetForm,
    ModelVersionForm,
    RegisteredModelForm,
    ValidationJobForm,
)
from registry.models import MODEL_CARD_FIELDS, RegisteredModel


@login_required
@permission_required("registry.view_registeredmodel", raise_exception=True)
def model_list(request: HttpRequest) -> HttpResponse:
    filterset = RegisteredModelFilterSet(request.GET or None, queryset=selectors.model_list())
    queryset = filterset.qs if filterset.is_bound else filterset.queryset.order_by("name")
    page, query = paginate(request, queryset)
    return render(
        request,
        "registry/model_list.html",
        {
            "filter": filterset,
            "page": page,
            "query": query,
            "can_register": permissions.can_register_model(request.user),
            "filtered": any(v for k, v in request.GET.items() if k not in ("page", "sort")),
        },
    )


@login_required
def model_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_register_model(request.user):
        raise PermissionDenied("Only data scientists can register models.")
    teams = permissions.registrable_teams(request.user)
    if not teams.exists():
        raise PermissionDenied("You are not a member of any team yet; ask an administrator to add you to one.")
    form = RegisteredModelForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            model = services.registered_model_create(actor=request.user, **data)
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Registered {model.name}. Upload its first version next.")
            return redirect(model)
    return render(request, "registry/model_form.html", {"form": form, "title": "Register a model"})


@login_required
@permission_required("registry.view_registeredmodel", raise_exception=True)
def model_detail(request: HttpRequest, name: str) -> HttpResponse:
    model = selectors.model_get(name=name)
    versions, query = paginate(request, selectors.model_versions(model=model))
    return render(
        request,
        "registry/model_detail.html",
        {
            "model": model,
            "versions": versions,
            "page": versions,
            "query": query,
            "datasets": selectors.model_datasets(model=model),
            "card_fields": [(model._meta.get_field(f).verbose_name, getattr(model, f)) for f in MODEL_CARD_FIELDS],
            "can_change": permissions.can_change_model(request.user, model),
            "can_add_version": permissions.can_add_version(request.user, model),
            "can_add_dataset": permissions.can_add_dataset(request.user, model),
            "can_download": permissions.can_download(request.user),
            "timeline": approval_selectors.timeline(model)[:20],
            "requests": approval_selectors.request_list().filter(version__model=model).order_by("-created_at")[:10],
            "debt": debt.model_debt(model.pk),
        },
    )


@login_required
def model_edit(request: HttpRequest, name: str) -> HttpResponse:
    model = selectors.model_get(name=name)
    if not permissions.can_change_model(request.user, model):
        raise PermissionDenied(f"Only data scientists of {model.team} can edit {model.name}.")
    form = RegisteredModelForm(request.POST or None, instance=model)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        tags = data.pop("tags")
        try:
            services.registered_model_update(actor=request.user, model=model, tags=tags, **data)
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Saved {model.name}.")
            return redirect(model)
    return render(request, "registry/model_form.html", {"form": form, "title": f"Edit {name}", "model": model})


def _model_for_upload(request: HttpRequest, name: str, check) -> RegisteredModel:
    model = selectors.model_get(name=name)
    if not check(request.user, model):
        raise PermissionDenied(f"Only data scientists of {model.team} can add to {model.name}.")
    return model


@login_required
def version_create(request: HttpRequest, name: str) -> HttpResponse:
    model = _model_for_upload(request, name, permissions.can_add_version)
    form = ModelVersionForm(request.POST or None, request.FILES or None, model=model)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            version = services.model_version_create(
                actor=request.user,
                model=model,
                artifact=data["artifact"],
                source_code_url=data["source_code_url"],
                source_commit=data["source_commit"].lower(),
                training_run_url=data["training_run_url"],
                training_data_ref=data["training_data_ref"],
                trained_at=data["trained_at"],
                parent_number=data["parent_number"],
                metrics=data["metrics"],
                notes=data["notes"],
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Uploaded {version}: SHA-256 {version.sha256[:12]}…")
            return redirect(version)
    return render(request, "registry/version_form.html", {"form": form, "model": model})


@login_required
@permission_required("registry.view_modelversion", raise_exception=True)
def version_detail(request: HttpRequest, name: str, number: int) -> HttpResponse:
    return render_version(request, selectors.version_get(name=name, number=number))


def render_version(request: HttpRequest, version, *, validation_form=None, benchmark_form=None, status=200):
    """The version page; the job views pass a bound form back to it to show its errors by the fields."""
    from approvals.forms import RequestForm
    from approvals.models import PromotionRequest
    from approvals.services import offered_transitions

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
            "benchmark_form": (benchmark_form or BenchmarkJobForm()) if can_benchmark else None,
            "has_datasets": model.datasets.exists(),
            "open_request": PromotionRequest.objects.filter(version=version, status__in=["open", "approved"]).first(),
            "transitions": offered_transitions(request.user, version),
            "request_form": RequestForm(),
            "observations": selectors.observation_list(version=version)[:OBSERVATIONS_SHOWN],
            "observation_chart": _observation_chart(version),
        },
        status=status,
    )


OBSERVATIONS_SHOWN = 10


def _observation_chart(version) -> dict | None:
    """Metrics and the largest PSI over the last year of observations, for the version page's chart."""
    rows = list(selectors.observation_list(version=version).values("observed_at", "metrics", "max_psi")[:365])
    if not rows:
        return None
    rows.reverse()
    names = sorted({k for r in rows for k in r["metrics"]})
    return {"x": [r["observed_at"].isoformat() for r in rows], "max_psi": [r["max_psi"] for r in rows],
            "metrics": {n: [r["metrics"].get(n) for r in rows] for n in names},
            "floors": {n: version.model.metric_floors[n] for n in names if n in version.model.metric_floors}}


@login_required
def version_download(request: HttpRequest, name: str, number: int) -> HttpResponse:
    if not permissions.can_download(request.user):
        raise PermissionDenied("Your role cannot download artifacts.")
    return version_download_response(selectors.version_get(name=name, number=number))


@login_required
def dataset_create(request: HttpRequest, name: str) -> HttpResponse:
    model = _model_for_upload(request, name, permissions.can_add_dataset)
    form = DatasetForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            dataset = services.dataset_create(
                actor=request.user,
                model=model,
                name=data["name"],
                description=data["description"],
                file=data["file"],
                label_column=data["label_column"],
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Added dataset {dataset.name}: {dataset.row_count:,} rows.")
            return redirect(dataset)
    return render(request, "registry/dataset_form.html", {"form": form, "model": model})


@login_required
@permission_required("registry.view_dataset", raise_exception=True)
def dataset_detail(request: HttpRequest, name: str, pk: int) -> HttpResponse:
    dataset = selectors.dataset_get(name=name, pk=pk)
    return render(
        request,
        "registry/dataset_detail.html",
        {"dataset": dataset, "model": dataset.model, "can_download": permissions.can_download(request.user)},
    )


@login_required
def dataset_download(request: HttpRequest, name: str, pk: int) -> HttpResponse:
    if not permissions.can_download(request.user):
        raise PermissionDenied("Your role cannot download datasets.")
    return dataset_download_response(selectors.dataset_get(name=name, pk=pk))
