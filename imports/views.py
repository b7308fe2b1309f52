"""The imports page: past imports with their progress, a form to start one; a run's page and its report."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from imports import selectors, services
from imports.forms import ImportForm
from imports.permissions import require_start_import
from imports.services.runs import SOURCE_FIELDS
from portal.core.errors import ApplicationError


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    require_start_import(request.user)
    form = ImportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            source = services.import_source_save(
                actor=request.user, url=data["url"], **{k: data[k] for k in SOURCE_FIELDS}
            )
            options = services.Options.of_source(source, model=data["model"] or None, dry_run=data["dry_run"])
            run = services.import_run_create(actor=request.user, options=options, source=source)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Import #{run.pk} is queued.")
            return redirect(run)
    return render(
        request,
        "imports/import_list.html",
        {"form": form, "runs": selectors.import_run_list(), "sources": selectors.import_source_list()},
    )


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_start_import(request.user)
    return render(request, "imports/import_detail.html", {"run": selectors.import_run_get(pk=pk)})


@login_required
def import_progress(request: HttpRequest, pk: int) -> JsonResponse:
    require_start_import(request.user)
    run = selectors.import_run_get(pk=pk)
    return JsonResponse(
        {
            "status": run.status,
            "status_label": run.get_status_display(),
            "progress": run.progress,
            "message": run.message,
            "finished": run.finished,
            "imported": run.imported,
            "skipped": run.skipped,
            "refused": run.refused,
        }
    )
