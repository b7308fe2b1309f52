"""Registry API: models by name, versions by number. Same permissions as the pages (registry.permissions)."""

from __future__ import annotations

from django.http import FileResponse, StreamingHttpResponse
from django.utils.functional import SimpleLazyObject
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser
from rest_framework.permissions import DjangoModelPermissionsOrAnonReadOnly, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fleet.filters import WorkerFilterSet
from fleet.selectors import fleet_now, worker_list
from portal.core.api import JSONParser, RecentFirstCursorPagination
from registry import permissions, selectors, services
from registry.api import job_serializers as js
from registry.api import serializers as s
from registry.choices import JobKind
from registry.downloads import dataset_download_response, version_download_response
from registry.filters import JobFilterSet, RegisteredModelFilterSet
from registry.models import Dataset, Job, ModelVersion, Observation, RegisteredModel
from registry.services import jobs as job_services
from registry.services import monitoring
from registry.services.integrity import version_integrity_failed
from registry.streaming import StreamingMultiPartParser


class ViewPermission(DjangoModelPermissionsOrAnonReadOnly):
    """Reading needs the model's view permission (managers have it); writes are decided by the service."""

    authenticated_users_only = True
    perms_map = {
        method: ["%(app_label)s.view_%(model_name)s"]
        for method in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
    }

    def _queryset(self, view):
        # Only the class matters here: a view's get_queryset may query for a parent model, and building the
        # annotated list of models cost a third of creating one (bench/README.md §9). So every view names it.
        return view.permission_model.objects.none()


class ModelListCreateApi(generics.ListAPIView):
    permission_classes = [IsAuthenticated, ViewPermission]
    permission_model = RegisteredModel
    serializer_class = s.ModelOutputSerializer
    filterset_class = RegisteredModelFilterSet

    def get_queryset(self):
        return selectors.model_list().order_by("name")

    @extend_schema(request=s.ModelCreateInputSerializer, responses={201: s.ModelOutputSerializer})
    def post(self, request: Request) -> Response:
        permissions.require_register_model(request.user)  # before what they sent: a manager hears 403, not 400
        data = s.ModelCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        model = services.registered_model_create(actor=request.user, **data.validated_data)
        model.latest_version = model.production_version = None  # what model_list annotates, for a new model
        return Response(
            s.ModelOutputSerializer(model, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class ModelDetailApi(generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated, ViewPermission]
    permission_model = RegisteredModel
    serializer_class = s.ModelOutputSerializer

    def get_queryset(self):
        return selectors.model_list()

    def get_object(self):
        return selectors.model_get(name=self.kwargs["name"], queryset=self.get_queryset())

    @extend_schema(request=s.ModelUpdateInputSerializer, responses={200: s.ModelOutputSerializer})
    def patch(self, request: Request, name: str) -> Response:
        model = selectors.model_get(name=name, queryset=RegisteredModel.objects.select_related("team"))
        permissions.require_change_model(request.user, model)
        data = s.ModelUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        tags = changes.pop("tags", None)
        services.registered_model_update(actor=request.user, model=model, tags=tags, **changes)
        return Response(
            s.ModelOutputSerializer(self.get_queryset().get(pk=model.pk), context={"request": request}).data
        )


class ModelRiskTierApi(APIView):
    """IT operations or a risk reviewer lowers a model's risk tier, with a reason (a team only raises its own,
    by PATCH)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.RiskTierLowerInputSerializer, responses={200: s.ModelOutputSerializer})
    def post(self, request: Request, name: str) -> Response:
        permissions.require_lower_risk_tier(request.user)
        model = selectors.model_get(name=name, queryset=RegisteredModel.objects.all())
        data = s.RiskTierLowerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.risk_tier_lower(actor=request.user, model=model, **data.validated_data)
        return Response(
            s.ModelOutputSerializer(selectors.model_list().get(pk=model.pk), context={"request": request}).data
        )


class VersionListCreateApi(generics.ListAPIView):
    permission_classes = [IsAuthenticated, ViewPermission]
    permission_model = ModelVersion
    serializer_class = s.VersionOutputSerializer
    parser_classes = [StreamingMultiPartParser, FormParser, JSONParser]  # JSON: a version from finished uploads

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no URL kwargs
            return ModelVersion.objects.none()
        # By the model's name, in the one query that reads the page: the model is read only to tell an empty
        # list from a model that does not exist (list, below).
        return (
            selectors.versions_of(name=self.kwargs["name"])
            .select_related("model", "parent")
            .only(*s.VersionOutputSerializer.COLUMNS)
        )

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        if not response.data["results"]:
            selectors.model_get(name=self.kwargs["name"], queryset=RegisteredModel.objects.only("id"))  # or 404
        return response

    @extend_schema(request=s.VersionCreateInputSerializer, responses={201: s.VersionOutputSerializer})
    def post(self, request: Request, name: str) -> Response:
        # Only what the early permission check needs (before a large body is read); the service reads the
        # model again, locked.
        model = selectors.model_get(name=name, queryset=RegisteredModel.objects.only("id", "name", "team_id"))
        permissions.require_add_version(request.user, model)
        data = s.VersionCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        create = (
            services.model_version_create_from_uploads
            if "artifact_upload" in data.validated_data
            else services.model_version_create
        )
        version = create(actor=request.user, model=model, **data.validated_data)
        return Response(
            s.VersionOutputSerializer(version, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class VersionDetailApi(generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated, ViewPermission]
    permission_model = ModelVersion
    serializer_class = s.VersionOutputSerializer

    def get_object(self):
        # The page's version_get joins the team too; the API shows none of it (every join costs planning).
        return selectors.version_get(
            name=self.kwargs["name"],
            number=self.kwargs["number"],
            related=("model", "created_by", "parent"),
            columns=s.VersionOutputSerializer.COLUMNS,
        )

    def get_queryset(self):  # for the schema generator; the permission reads permission_model
        return selectors.version_list()


class DatasetListCreateApi(generics.ListAPIView):
    permission_classes = [IsAuthenticated, ViewPermission]
    permission_model = Dataset
    serializer_class = s.DatasetOutputSerializer
    parser_classes = [StreamingMultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Dataset.objects.none()
        model = selectors.model_get(name=self.kwargs["name"], queryset=RegisteredModel.objects.all())
        return selectors.model_datasets(model=model).select_related("model")

    @extend_schema(request=s.DatasetCreateInputSerializer, responses={201: s.DatasetOutputSerializer})
    def post(self, request: Request, name: str) -> Response:
        model = selectors.model_get(name=name, queryset=RegisteredModel.objects.select_related("team"))
        permissions.require_add_dataset(request.user, model)
        data = s.DatasetCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = services.dataset_create(actor=request.user, model=model, **data.validated_data)
        return Response(
            s.DatasetOutputSerializer(dataset, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class DatasetDetailApi(generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated, ViewPermission]
    permission_model = Dataset
    serializer_class = s.DatasetOutputSerializer

    def get_object(self):
        return selectors.dataset_get(name=self.kwargs["name"], pk=self.kwargs["pk"])

    def get_queryset(self):
        return selectors.model_datasets(
            model=selectors.model_get(name=self.kwargs["name"], queryset=RegisteredModel.objects.all())
        )


class _DownloadApi(APIView):
    """The stored bytes, for token-authenticated clients (deployment tooling, CI)."""

    permission_classes = [IsAuthenticated]

    def check_download(self, request: Request) -> None:
        permissions.require_download(request.user)


class VersionArtifactApi(_DownloadApi):
    @extend_schema(
        parameters=[OpenApiParameter("path", str, description="One file of a set, by its path in the manifest.")],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, name: str, number: int) -> StreamingHttpResponse:
        """The ONNX file; for a model with external data, one file by ?path= or the whole set as a tar stream
        (manifest.json first). Each byte is checked against the manifest as it goes out."""
        self.check_download(request)
        version = selectors.version_get(name=name, number=number)
        return version_download_response(
            version,
            request.query_params.get("path"),
            on_mismatch=lambda reason: version_integrity_failed(version_id=version.pk, reason=reason),
        )


class DatasetFileApi(_DownloadApi):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, name: str, pk: int) -> FileResponse:
        self.check_download(request)
        return dataset_download_response(selectors.dataset_get(name=name, pk=pk))


class JobListCreateApi(generics.ListAPIView):
    permission_classes = [IsAuthenticated, ViewPermission]
    permission_model = Job
    serializer_class = js.JobOutputSerializer
    filterset_class = JobFilterSet
    pagination_class = RecentFirstCursorPagination

    def get_queryset(self):
        return selectors.job_list().order_by("-created_at", "-pk")

    def get_serializer_context(self):
        # Read once, and only if a queued job on the page asks why it waits.
        return {**super().get_serializer_context(), "fleet": SimpleLazyObject(fleet_now)}

    @extend_schema(request=js.JobCreateInputSerializer, responses={201: js.JobOutputSerializer})
    def post(self, request: Request) -> Response:
        permissions.require_start_jobs(request.user)
        data = js.JobCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        version = selectors.version_get(name=values["model"], number=values["version"])
        dataset = None
        if values["kind"] == JobKind.VALIDATION:
            if not values["dataset"]:
                raise ValidationError({"dataset": ["Name the dataset to validate on."]})
            dataset = version.model.datasets.filter(name=values["dataset"]).first()
            if dataset is None:
                message = f"{version.model.name} has no dataset named '{values['dataset']}'."
                raise ValidationError({"dataset": [message]})
        job = job_services.job_create(
            actor=request.user,
            version=version,
            kind=values["kind"],
            dataset=dataset,
            device=values["device"] or selectors.benchmark_device_offer(version).default,
            parameters=values["parameters"],
        )
        job = selectors.job_get(pk=job.pk)
        return Response(js.JobOutputSerializer(job, context={"request": request}).data, status=status.HTTP_201_CREATED)


class JobDetailApi(generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated, ViewPermission]
    permission_model = Job
    serializer_class = js.JobDetailOutputSerializer

    def get_queryset(self):
        return selectors.job_list()

    def get_object(self):
        return selectors.job_get(pk=self.kwargs["pk"])


class JobCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: js.JobOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        job = job_services.job_cancel(actor=request.user, job=selectors.job_get(pk=pk))
        return Response(js.JobOutputSerializer(selectors.job_get(pk=job.pk), context={"request": request}).data)


class ObservationListCreateApi(generics.ListAPIView):
    """What serving systems report about the version in production: metrics, and feature histograms
    counted on the edges of the version's reference (GET …/reference/)."""

    permission_classes = [IsAuthenticated, ViewPermission]
    permission_model = Observation
    serializer_class = s.ObservationOutputSerializer
    parser_classes = [JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Observation.objects.none()
        version = selectors.version_get(name=self.kwargs["name"], number=self.kwargs["number"])
        return selectors.observation_list(version=version).select_related("version__model")

    @extend_schema(request=s.ObservationInputSerializer, responses={201: s.ObservationOutputSerializer})
    def post(self, request: Request, name: str, number: int) -> Response:
        if not isinstance(request.data, dict):
            raise ValidationError({"detail": ["Send a JSON object."]})
        data = s.ObservationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = selectors.version_get(name=name, number=number)
        obs = monitoring.observation_record(actor=request.user, version=version, **data.validated_data)
        replayed = getattr(obs, "replayed", False)  # the same window and source again: answered, not stored twice
        return Response(
            s.ObservationOutputSerializer(obs).data, status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED
        )


class VersionReferenceApi(APIView):
    """The reference histograms observations are compared with (from the latest passed validation)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, name: str, number: int) -> Response:
        permissions.require_view_registry(request.user)
        version = selectors.version_get(name=name, number=number)
        job = selectors.reference_job(version=version)
        if job is None:
            return Response(
                {"detail": f"{version} has no passed validation with reference histograms yet; validate it first."},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(
            {
                "model": version.model.name,
                "version": version.number,
                "sha256": version.sha256,
                "validation_job": job.pk,
                "dataset": (job.result.get("dataset") or {}).get("name"),
                "histograms": job.result["reference_histograms"],
                "how": "Count each feature's values into len(edges)+1 bins: (-inf, e0), [e0, e1), …, "
                "[en, +inf); POST the counts as histograms: {feature: [counts]} to observations/.",
            }
        )


class WorkerListApi(generics.ListAPIView):
    """The fleet: every worker that has reported in, online or not (everyone signed in may read it)."""

    permission_classes = [IsAuthenticated]
    serializer_class = s.WorkerOutputSerializer
    filterset_class = WorkerFilterSet

    def get_queryset(self):
        return worker_list()

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        finished, _ = selectors.worker_activity([w.name for w in page], [])  # one query for the page
        for worker in page:
            worker.finished_24h = finished.get(worker.name, 0)
        return page
