"""The model-debt dashboard, its drill-downs and exports (portal.debt computes; these only render)."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import debt
from portal.forms import DashboardFilterForm
from portal.models import DEBT_COMPONENTS, DebtDay, DebtSnapshot
from portal.services import debt_snapshot_take
from portal.views_helpers import paginate
from registry.models import RegisteredModel


def _board(request: HttpRequest) -> tuple[DashboardFilterForm, debt.Dashboard | None]:
    form = DashboardFilterForm(request.GET)
    if not form.is_valid():
        return form, None
    return form, debt.dashboard_cached(form.scope())


def _fresh() -> None:
    """Today's snapshot is taken by beat every few minutes; a database that has none yet (a new install)
    gets its first one now, so the page never opens empty on data that exists."""
    if not DebtDay.objects.exists() and RegisteredModel.objects.exists():
        debt_snapshot_take()


@login_required
@permission_required("portal.view_debtsnapshot", raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    _fresh()
    form, board = _board(request)
    if board is None:  # filters that cannot be read must not silently show everything
        return render(request, "portal/dashboard.html", {"form": form}, status=400)
    if request.GET.get("format") == "csv":
        return _csv(board)
    headline = board.headline
    return render(request, "portal/dashboard.html", {
        "form": form,
        "board": board,
        "data": debt.as_dict(board),
        "index": headline["debt_index"],
        "cards": [headline[k] for k in ("in_production", *DEBT_COMPONENTS)],
        "flow_cards": [board.flow[k] for k in ("production_yield", "lead_time_median", "lead_time_p90",
                                               "approval_wait_median", "deployment_frequency",
                                               "change_failure_rate")],
        "components": [(c, debt.LABELS[c], debt.WEIGHTS[c], debt.EXPLAIN[c]) for c in DEBT_COMPONENTS],
        "bands": debt.BANDS,
        "query": urlencode(board.scope.query(), doseq=True),
    })


@login_required
@permission_required("portal.view_debtsnapshot", raise_exception=True)
def dashboard_drill(request: HttpRequest) -> HttpResponse:
    form, board = _board(request)
    if board is None:
        return render(request, "portal/dashboard.html", {"form": form}, status=400)
    key = request.GET.get("figure", "")
    try:
        title, explanation, rows = debt.drill(board, key)
    except KeyError:
        raise Http404(f"The dashboard has no figure called '{key}'.") from None
    page, query = paginate(request, rows, per_page=50)  # snapshot rows are counted and sliced in SQL
    back = request.GET.copy()
    for name in ("figure", "page"):
        back.pop(name, None)
    return render(request, "portal/dashboard_drill.html", {
        "board": board, "title": title, "explanation": explanation, "page": page, "query": query,
        "count": page.paginator.count, "back": back.urlencode(), "components": DEBT_COMPONENTS,
        "day_drill": key.startswith("day:"),
    })


def _csv(board: debt.Dashboard) -> StreamingHttpResponse:
    header = ["date", "model", "team", "risk_tier", "stage", "debt_index", "band", "worst_component",
              *DEBT_COMPONENTS, *[f"{c}_reason" for c in DEBT_COMPONENTS]]
    rows = (debt.snapshots(board.day, board.scope).select_related("model", "team").order_by("-index", "model__name")
            if board.day else DebtSnapshot.objects.none())

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for s in rows.iterator(chunk_size=2000):
            writer.writerow([s.date.isoformat(), s.model.name, s.team.name, s.risk_tier, s.stage, f"{s.index:.2f}",
                             debt.band(s.index), s.worst or "", *[f"{getattr(s, c):g}" for c in DEBT_COMPONENTS],
                             *[s.details.get(c, "") for c in DEBT_COMPONENTS]])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)

    response = StreamingHttpResponse(lines(), content_type="text/csv")
    stamp = (board.day or timezone.localdate()).isoformat()
    response["Content-Disposition"] = f'attachment; filename="gatehouse-model-debt-{stamp}.csv"'
    return response


class DebtApi(APIView):
    """Every figure of the model-debt dashboard, for the same filters as the page."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("team", OpenApiTypes.STR, many=True, description="team slug (repeatable)"),
            OpenApiParameter("tier", OpenApiTypes.STR, many=True, description="risk tier (repeatable)"),
            OpenApiParameter("from", OpenApiTypes.DATE, description="start of the range (default: 180 days back)"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="end of the range (default: today)"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        if not request.user.has_perm("portal.view_debtsnapshot"):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("Your role does not include the model-debt dashboard.")
        _fresh()
        form = DashboardFilterForm(request.query_params)
        if not form.is_valid():  # named as the API's parameters are
            names = {"date_from": "from", "date_to": "to", "__all__": "detail"}
            raise ValidationError({names.get(k, k): [str(e) for e in v] for k, v in form.errors.items()})
        return Response(debt.as_dict(debt.dashboard_cached(form.scope())))
