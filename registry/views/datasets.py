"""Dataset pages: add one to a model, its page, download."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from portal.core.errors import ApplicationError
from portal.core.views import form_error
from registry import permissions, selectors, services
from registry.downloads import dataset_download_response
from registry.forms import DatasetForm


@login_required
def dataset_create(request: HttpRequest, name: str) -> HttpResponse:
    model = selectors.model_get(name=name)
    permissions.require_add_dataset(request.user, model)
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
    permissions.require_download(request.user)
    return dataset_download_response(selectors.dataset_get(name=name, pk=pk))
