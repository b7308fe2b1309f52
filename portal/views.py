from __future__ import annotations

import csv
import io
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from portal import selectors, services
from portal.filters import AuditEventFilterSet
from portal.roles import Role
from portal.views_helpers import paginate
from registry import permissions
from registry import selectors as registry_selectors


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sso"] = settings.OIDC_ENABLED
        context["sso_failed"] = self.request.GET.get("sso") == "failed"
        if settings.DEBUG:
            from portal.demo import DEMO_PASSWORD, DEMO_USERS

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
    filterset = AuditEventFilterSet(request.GET or None, queryset=selectors.audit_event_list())
    if filterset.is_bound and not filterset.is_valid():
        # A filter that cannot be read must not widen the selection (an export would hold everything).
        messages.error(request, "Some filters could not be read: " + "; ".join(
            f"{filterset.form.fields[k].label}: {' '.join(v)}" for k, v in filterset.errors.items()))
        queryset = filterset.queryset.none()
    else:
        queryset = filterset.qs if filterset.is_bound else filterset.queryset
    fmt = request.GET.get("format")
    if fmt in ("csv", "jsonl"):
        return _audit_export(queryset.order_by("id"), fmt)
    page, query = paginate(request, queryset, per_page=50, capped=True)
    export_query = request.GET.copy()
    export_query.pop("page", None)
    return render(request, "portal/audit_list.html", {
        "page": page, "query": query, "filter": filterset, "export_query": export_query.urlencode(),
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
    })


def _audit_export(queryset, fmt: str) -> StreamingHttpResponse:
    """Streamed, so an export of millions of events holds only one chunk in memory."""
    fields = ["id", "created_at", "actor_username", "action", "object_type", "object_id", "object_repr", "before",
              "after", "request_id", "ip", "prev_hash", "hash"]
    rows = queryset.values_list(*fields).iterator(chunk_size=2000)

    def as_jsonl():
        for row in rows:
            record = dict(zip(fields, row, strict=True))
            record["created_at"] = record["created_at"].isoformat()
            yield json.dumps(record, sort_keys=True, default=str) + "\n"

    def as_csv():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(fields)
        for row in rows:
            values = list(row)
            values[1] = values[1].isoformat()
            values[7] = json.dumps(values[7], sort_keys=True) if values[7] is not None else ""
            values[8] = json.dumps(values[8], sort_keys=True) if values[8] is not None else ""
            writer.writerow(values)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(as_csv() if fmt == "csv" else as_jsonl(),
                                     content_type="text/csv" if fmt == "csv" else "application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="gatehouse-audit-{stamp}.{fmt}"'
    return response


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
    return render(request, "500.html", status=500)
