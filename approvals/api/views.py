"""Release API: requests, decisions, and what is in production (for deployment tooling)."""

from __future__ import annotations

from django.db.models import Max, Q
from django.http import Http404, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals import selectors, services
from approvals.api import serializers as s
from approvals.filters import FindingFilterSet, ProductionFilterSet, PromotionRequestFilterSet
from approvals.models import PromotionRequest
from portal.core import keys
from registry import selectors as registry_selectors
from registry.choices import Stage
from registry.models import ModelVersion
from registry.permissions import can_view_registry


class RegistryReader(IsAuthenticated):
    """Anyone with a role reads the release records; who may act is decided by the services."""

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and can_view_registry(request.user)


def _request(pk: int):
    request = selectors.request_list().prefetch_related("decisions__person").filter(pk=pk).first()
    if request is None:
        raise Http404(f"There is no request {pk}.")
    return request


class RequestListCreateApi(generics.ListAPIView):
    permission_classes = [RegistryReader]
    serializer_class = s.RequestListOutputSerializer
    filterset_class = PromotionRequestFilterSet  # the requests page's filters

    def get_queryset(self):
        return selectors.request_list().prefetch_related("decisions__person").order_by("-created_at", "-pk")

    @extend_schema(request=s.RequestCreateInputSerializer, responses={201: s.RequestOutputSerializer})
    def post(self, request: Request) -> Response:
        services.require_some_request(request.user)  # may they ask for anything, before what they sent
        data = s.RequestCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        version = registry_selectors.version_get(name=values["model"], number=values["version"])
        opened = services.promotion_request_open(
            actor=request.user, version=version, action=values["action"], justification=values["justification"]
        )
        return Response(s.RequestOutputSerializer(_request(opened.pk)).data, status=status.HTTP_201_CREATED)


class RequestDetailApi(generics.RetrieveAPIView):
    permission_classes = [RegistryReader]
    serializer_class = s.RequestOutputSerializer

    def get_queryset(self):
        return selectors.request_list()

    def get_object(self):
        return _request(self.kwargs["pk"])


class RequestDecideApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.DecisionInputSerializer, responses={200: s.RequestOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        promotion = _request(pk)
        services.decision_roles(request.user, promotion)  # may they decide at all, before what they sent
        data = s.DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.promotion_request_decide(actor=request.user, request=promotion, **data.validated_data)
        return Response(s.RequestOutputSerializer(_request(pk)).data)


class RequestWithdrawApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.WithdrawInputSerializer, responses={200: s.RequestOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        data = s.WithdrawInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.promotion_request_withdraw(actor=request.user, request=_request(pk), **data.validated_data)
        return Response(s.RequestOutputSerializer(_request(pk)).data)


class ProductionApi(generics.ListAPIView):
    """What is in production now: one row per model, with the digest deployment tooling must serve."""

    permission_classes = [RegistryReader]
    serializer_class = s.ProductionOutputSerializer
    pagination_class = None
    filterset_class = ProductionFilterSet

    def get_queryset(self):
        return (
            ModelVersion.objects.in_production()
            .select_related("model", "model__team")
            .annotate(since=Max("stage_changes__created_at", filter=Q(stage_changes__to_stage=Stage.PRODUCTION)))
            .order_by("model__name")
        )


class VersionAttestationsApi(generics.ListAPIView):
    """The signed attestations of a version, newest first: one for each transition that applied to it."""

    permission_classes = [RegistryReader]
    serializer_class = s.AttestationOutputSerializer
    pagination_class = None  # a handful per version: one per stage it entered

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return selectors.attestation_list().none()
        version = registry_selectors.version_get(name=self.kwargs["name"], number=self.kwargs["number"], related=())
        return selectors.attestation_list().filter(version=version)


class PublicKeysApi(APIView):
    """The keys attestations and audit checkpoints are signed with: the active one and retired ones. Public,
    so deployment tooling can fetch them without a token (``keys/pem/``: the same keys as one PEM file)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: s.PublicKeysOutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(s.PublicKeysOutputSerializer({"keys": keys.public_keys()}).data)


def public_keys_pem(request) -> HttpResponse:
    """The published keys as one PEM file, for ``dsse.py --key`` (public: no sign-in)."""
    response = HttpResponse("".join(row["pem"] for row in keys.public_keys()), content_type="application/x-pem-file")
    response["Content-Disposition"] = 'inline; filename="gatehouse-keys.pem"'
    return response


def _finding(pk: int):
    finding = selectors.finding_list().prefetch_related("comments__author").filter(pk=pk).first()
    if finding is None:
        raise Http404(f"There is no finding {pk}.")
    return finding


class FindingListCreateApi(generics.ListAPIView):
    """Findings, most severe first; the findings page's filters (``status=unresolved``, ``overdue=true``,
    ``severity``, ``model``, ``owner`` …). POST opens one."""

    permission_classes = [RegistryReader]
    serializer_class = s.FindingOutputSerializer
    filterset_class = FindingFilterSet

    def get_queryset(self):
        return selectors.finding_list().order_by("-severity_rank", "due_date", "pk")

    @extend_schema(request=s.FindingCreateInputSerializer, responses={201: s.FindingDetailOutputSerializer})
    def post(self, request: Request) -> Response:
        data = s.FindingCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        version = registry_selectors.version_get(name=values.pop("model"), number=values.pop("version"))
        request_id = values.pop("request", None)
        under_review = None
        if request_id is not None:
            under_review = PromotionRequest.objects.filter(pk=request_id).first()
            if under_review is None:
                raise Http404(f"There is no request {request_id}.")
        finding = services.finding_open(actor=request.user, version=version, request=under_review, **values)
        return Response(s.FindingDetailOutputSerializer(_finding(finding.pk)).data, status=status.HTTP_201_CREATED)


class FindingDetailApi(APIView):
    permission_classes = [RegistryReader]

    @extend_schema(responses={200: s.FindingDetailOutputSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.FindingDetailOutputSerializer(_finding(pk)).data)

    @extend_schema(request=s.FindingUpdateInputSerializer, responses={200: s.FindingDetailOutputSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        finding = _finding(pk)
        data = s.FindingUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.finding_update(actor=request.user, finding=finding, **data.validated_data)
        return Response(s.FindingDetailOutputSerializer(_finding(pk)).data)


class FindingStepApi(APIView):
    """Take a step: remediate, verify, accept (a risk reviewer), reopen; the comment joins the thread."""

    permission_classes = [RegistryReader]

    @extend_schema(request=s.FindingStepInputSerializer, responses={200: s.FindingDetailOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        finding = _finding(pk)
        data = s.FindingStepInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.finding_transition(actor=request.user, finding=finding, **data.validated_data)
        return Response(s.FindingDetailOutputSerializer(_finding(pk)).data)


class FindingCommentApi(APIView):
    permission_classes = [RegistryReader]

    @extend_schema(request=s.FindingCommentInputSerializer, responses={201: s.FindingCommentOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        finding = _finding(pk)
        data = s.FindingCommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.finding_comment(actor=request.user, finding=finding, **data.validated_data)
        return Response(s.FindingCommentOutputSerializer(entry).data, status=status.HTTP_201_CREATED)
