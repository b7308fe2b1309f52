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
from portal.models import DEBT_COMPONENTS
from portal.views_helpers import paginate

TOP_MODELS = 15


def _board(request: HttpRequest) -> tuple[DashboardFilterForm, debt.Dashboard | None]:
    form = DashboardFilterForm(request.GET)
    if not form.is_valid():
        return form, None
    return form, debt.dashboard(form.scope())


@login_required
@permission_required("portal.view_debtsnapshot", raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    form, board = _board(request)
    if board is None:  # filters that cannot be read must not silently show everything
        return render(request, "portal/dashboard.html", {"form": form}, status=400)
    if request.GET.get("format") == "csv":
        return _csv(board)
    query_string = urlencode(board.scope.query(), doseq=True)
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
        "top": board.ranked[:TOP_MODELS],
        "ranked_count": len(board.ranked),
        "components": [(c, debt.LABELS[c], debt.WEIGHTS[c], debt.EXPLAIN[c]) for c in DEBT_COMPONENTS],
        "bands": debt.BANDS,
        "query": query_string,
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
    page, query = paginate(request, rows, per_page=50)
    back = request.GET.copy()
    for name in ("figure", "page"):
        back.pop(name, None)
    return render(request, "portal/dashboard_drill.html", {
        "board": board, "title": title, "explanation": explanation, "page": page, "query": query,
        "count": len(rows), "back": back.urlencode(), "components": DEBT_COMPONENTS,
    })


def _csv(board: debt.Dashboard) -> StreamingHttpResponse:
    header = ["model", "team", "risk_tier", "stage", "debt_index", "band", "worst_component",
              *DEBT_COMPONENTS, *[f"{c}_reason" for c in DEBT_COMPONENTS]]
    rows = sorted((m for m in board.debts if m.facts.live), key=lambda m: (-m.index, m.facts.name))

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for m in rows:
            writer.writerow([m.facts.name, m.facts.team, m.facts.risk_tier, m.facts.stage, f"{m.index:.2f}",
                             debt.band(m.index), m.worst or "", *[f"{m.components[c]:g}" for c in DEBT_COMPONENTS],
                             *[m.details.get(c, "") for c in DEBT_COMPONENTS]])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)

    response = StreamingHttpResponse(lines(), content_type="text/csv")
    stamp = timezone.localdate(board.as_of).isoformat()
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
        form = DashboardFilterForm(request.query_params)
        if not form.is_valid():
            raise ValidationError({k: [str(e) for e in v] for k, v in form.errors.items()})
        return Response(debt.as_dict(debt.dashboard(form.scope())))
