from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from portal.core import selectors, services
from portal.core.exports import csv_response, lines_response
from portal.core.filters import AuditEventFilterSet
from portal.core.roles import Role
from portal.core.views import filtered, paginate
from portal.demo.accounts import DEMO_PASSWORD, DEMO_USERS
from registry import permissions
from registry import selectors as registry_selectors


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sso"] = settings.OIDC_ENABLED
        context["sso_failed"] = self.request.GET.get("sso") == "failed"
        if settings.DEBUG:
            names = [u[0] for u in DEMO_USERS]
            if get_user_model().objects.filter(username__in=names).exists():
                context["demo_users"] = [(u[0], Role(u[2]).label) for u in DEMO_USERS]
                context["demo_password"] = DEMO_PASSWORD
        return context


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {"can_register": permissions.can_register_model(user)}
    if permissions.can_view_registry(user):
        models = registry_selectors.model_list()
        context.update(
            model_count=models.count(),
            stage_counts=registry_selectors.stage_counts(),
            my_models=models.filter(team__members=user).order_by("-last_version_at", "name")[:8],
            recent_versions=registry_selectors.version_list()[:8],
        )
    return render(request, "portal/home.html", context)


@login_required
def account(request: HttpRequest) -> HttpResponse:
    token = Token.objects.filter(user=request.user).first()
    # A new token is shown once, right after it is made; afterwards only its first characters.
    new_token = request.session.pop("new_token", None)
    return render(
        request,
        "portal/account.html",
        {"token": token, "new_token": new_token, "teams": request.user.teams.all()},
    )


@login_required
@require_POST
def account_token_rotate(request: HttpRequest) -> HttpResponse:
    token = services.api_token_rotate(user=request.user)
    messages.success(request, "A new API token was created. Copy it now; any previous token no longer works.")
    request.session["new_token"] = token.key
    return redirect("account")


@login_required
@permission_required("portal.view_auditevent", raise_exception=True)
def audit_list(request: HttpRequest) -> HttpResponse:
    filterset, queryset, status = filtered(request, AuditEventFilterSet, selectors.audit_event_list())
    fmt = request.GET.get("format")
    if fmt in ("csv", "jsonl"):
        return _audit_export(queryset.order_by("id"), fmt)
    page, query = paginate(request, queryset, per_page=50, capped=True)
    export_query = request.GET.copy()
    export_query.pop("page", None)
    return render(
        request,
        "portal/audit_list.html",
        {
            "page": page,
            "query": query,
            "filter": filterset,
            "export_query": export_query.urlencode(),
            "filtered": any(v for k, v in request.GET.items() if k != "page"),
        },
        status=status,
    )


AUDIT_EXPORT_FIELDS = [
    "id",
    "created_at",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
    "request_id",
    "ip",
    "prev_hash",
    "hash",
    "seq",  # last: columns keep the places they had before it was added
]


def _audit_export(queryset, fmt: str):
    """Streamed, so an export of millions of events holds only one chunk in memory."""
    rows = queryset.values_list(*AUDIT_EXPORT_FIELDS).iterator(chunk_size=2000)
    filename = f"gatehouse-audit-{timezone.now():%Y%m%d-%H%M%S}.{fmt}"
    if fmt == "csv":

        def cells(row):
            values = list(row)
            values[1] = values[1].isoformat()
            for i in (7, 8):  # before, after
                values[i] = json.dumps(values[i], sort_keys=True) if values[i] is not None else ""
            return values

        return csv_response(AUDIT_EXPORT_FIELDS, (cells(r) for r in rows), filename=filename)

    def records():
        for row in rows:
            record = dict(zip(AUDIT_EXPORT_FIELDS, row, strict=True))
            record["created_at"] = record["created_at"].isoformat()
            yield json.dumps(record, sort_keys=True, default=str) + "\n"

    return lines_response(records(), content_type="application/x-ndjson", filename=filename)


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else "Your role does not allow this."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=403)
    return render(request, "403.html", {"message": message}, status=403)


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if request.path.startswith("/api/"):  # API clients get the API's error shape, not a page
        return JsonResponse({"detail": f"There is no API endpoint at {request.path}."}, status=404)
    return render(request, "404.html", {"path": request.path}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):  # an API client reads JSON, whatever went wrong
        return JsonResponse(
            {
                "detail": "The server failed to answer; the error is logged with this request's id.",
                "request_id": getattr(request, "id", ""),
            },
            status=500,
        )
    return render(request, "500.html", status=500)
