"""The model-debt dashboard, its drill-downs and exports (the modules beside this one compute; these render)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.core.exports import csv_response
from portal.core.views import paginate
from portal.dashboard.board import Dashboard, dashboard_cached
from portal.dashboard.drill import drill
from portal.dashboard.export import CSV_HEADER, DRILL_CSV_HEADER, as_dict, csv_rows, drill_csv_rows
from portal.dashboard.forms import DashboardFilterForm
from portal.dashboard.formula import BANDS, DEBT_COMPONENTS, EXPLAIN, LABELS, WEIGHTS
from portal.dashboard.models import DebtDay
from portal.dashboard.snapshots import debt_snapshot_take
from registry.models import RegisteredModel

VIEW_PERMISSION = "portal.view_debtsnapshot"
FLOW_CARDS = (
    "production_yield",
    "lead_time_median",
    "lead_time_p90",
    "approval_wait_median",
    "deployment_frequency",
    "change_failure_rate",
)


def _with(query, **values) -> str:
    """The query string with these values set (every other parameter kept, repeated ones too)."""
    query = query.copy()
    for name, value in values.items():
        query[name] = value
    return query.urlencode()


def _board(request: HttpRequest) -> tuple[DashboardFilterForm, Dashboard | None]:
    form = DashboardFilterForm(request.GET)
    if not form.is_valid():
        return form, None
    return form, dashboard_cached(form.scope())


def _fresh() -> None:
    """Today's snapshot is taken by beat every few minutes; a database that has none yet (a new install)
    gets its first one now, so the page never opens empty on data that exists."""
    if not DebtDay.objects.exists() and RegisteredModel.objects.exists():
        debt_snapshot_take()


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    _fresh()
    form, board = _board(request)
    if board is None:  # filters that cannot be read must not silently show everything
        return render(request, "portal/dashboard.html", {"form": form}, status=400)
    if request.GET.get("format") == "csv":
        stamp = (board.day or timezone.localdate()).isoformat()
        return csv_response(CSV_HEADER, csv_rows(board), filename=f"gatehouse-model-debt-{stamp}.csv")
    headline = board.headline
    return render(
        request,
        "portal/dashboard.html",
        {
            "form": form,
            "board": board,
            "data": as_dict(board),
            "index": headline["debt_index"],
            "cards": [headline[k] for k in ("in_production", *DEBT_COMPONENTS)],
            "flow_cards": [board.flow[k] for k in FLOW_CARDS],
            "components": [(c, LABELS[c], WEIGHTS[c], EXPLAIN[c]) for c in DEBT_COMPONENTS],
            "bands": BANDS,
            "query": urlencode(board.scope.query(), doseq=True),
        },
    )


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def dashboard_drill(request: HttpRequest) -> HttpResponse:
    form, board = _board(request)
    if board is None:
        return render(request, "portal/dashboard.html", {"form": form}, status=400)
    key = request.GET.get("figure", "")
    try:
        title, explanation, rows = drill(board, key)
    except KeyError:
        raise Http404(f"The dashboard has no figure called '{key}'.") from None
    if request.GET.get("format") == "csv":
        stamp = (board.day or timezone.localdate()).isoformat()
        return csv_response(
            DRILL_CSV_HEADER, drill_csv_rows(rows), filename=f"gatehouse-{key.replace(':', '-')}-{stamp}.csv"
        )
    page, query = paginate(request, rows, per_page=50)  # snapshot rows are counted and sliced in SQL
    back = request.GET.copy()
    for name in ("figure", "page"):
        back.pop(name, None)
    return render(
        request,
        "portal/dashboard_drill.html",
        {
            "board": board,
            "title": title,
            "explanation": explanation,
            "page": page,
            "query": query,
            "count": page.paginator.count,
            "back": back.urlencode(),
            "components": DEBT_COMPONENTS,
            "day_drill": key.startswith("day:"),
            "findings_drill": key == "overdue_findings" or key.endswith(":overdue_findings"),
            # The index's rows carry each model's share: they add up to the index on the card.
            "index_total": board.headline["debt_index"].value if key == "debt_index" else None,
            "csv_query": _with(request.GET, format="csv"),
        },
    )


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
        if not request.user.has_perm(VIEW_PERMISSION):
            raise PermissionDenied("Your role does not include the model-debt dashboard.")
        _fresh()
        form = DashboardFilterForm(request.query_params)
        if not form.is_valid():  # named as the API's parameters are
            names = {"date_from": "from", "date_to": "to", "__all__": "detail"}
            raise ValidationError({names.get(k, k): [str(e) for e in v] for k, v in form.errors.items()})
        return Response(as_dict(dashboard_cached(form.scope())))
