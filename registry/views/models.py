"""Model pages: the list, registering, the model's page, editing its card. Thin: parse, call, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.core.errors import ApplicationError
from portal.core.views import filtered, form_error, paginate
from registry import permissions, selectors, services
from registry.filters import RegisteredModelFilterSet
from registry.forms import RegisteredModelForm, RiskTierLowerForm
from registry.models import MODEL_CARD_FIELDS


@login_required
@permission_required("registry.view_registeredmodel", raise_exception=True)
def model_list(request: HttpRequest) -> HttpResponse:
    filterset, queryset, status = filtered(
        request, RegisteredModelFilterSet, selectors.model_list(), default_order=("name",)
    )
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
        status=status,
    )


@login_required
def model_create(request: HttpRequest) -> HttpResponse:
    permissions.require_register_model(request.user)
    teams = permissions.registrable_teams(request.user)
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
            "tier_form": RiskTierLowerForm(model=model)
            if permissions.can_lower_risk_tier(request.user) and model.risk_tier != "low"
            else None,
        },
    )


@login_required
@require_POST
def model_risk_tier(request: HttpRequest, name: str) -> HttpResponse:
    """IT operations or a risk reviewer lowers the tier (the model's team may only raise it, on the edit page)."""
    model = selectors.model_get(name=name)
    permissions.require_lower_risk_tier(request.user)
    form = RiskTierLowerForm(request.POST, model=model)
    if form.is_valid():
        try:
            services.risk_tier_lower(actor=request.user, model=model, **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"{model.name} is now {form.cleaned_data['risk_tier']} risk; requests already "
                "open keep the policy they were opened under.",
            )
    else:
        messages.error(request, "The tier was not changed: " + " ".join(e for es in form.errors.values() for e in es))
    return redirect(model)


@login_required
def model_edit(request: HttpRequest, name: str) -> HttpResponse:
    model = selectors.model_get(name=name)
    permissions.require_change_model(request.user, model)
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
