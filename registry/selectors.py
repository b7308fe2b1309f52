"""Reads for the registry. List querysets carry everything their pages show, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from registry.choices import Device, JobKind, RiskTier, Stage
from registry.models import Dataset, Job, ModelVersion, Observation, RegisteredModel, Tag


def model_list() -> QuerySet[RegisteredModel]:
    # Correlated subqueries on the (model, number) index rather than a join with GROUP BY: the database
    # computes them for the page it returns, not for every model with every version.
    versions = ModelVersion.objects.filter(model=OuterRef("pk")).order_by()
    newest = versions.order_by("-number")
    production = versions.filter(stage=Stage.PRODUCTION).values("number")[:1]
    return (
        RegisteredModel.objects.select_related("team", "owner")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .annotate(
            version_count=Coalesce(Subquery(versions.values("model").annotate(n=Count("pk")).values("n")), 0),
            latest_version=Subquery(newest.values("number")[:1]),
            # Numbers are given in upload order, so the newest number is also the latest upload.
            last_version_at=Subquery(newest.values("created_at")[:1]),
            production_version=Subquery(production),
            # Sorting by risk means by severity, not by the alphabet.
            risk_rank=Case(
                *[When(risk_tier=tier, then=Value(rank)) for rank, tier in enumerate(RiskTier.values)],
                output_field=IntegerField(),
            ),
        )
    )


def model_get(*, name: str, queryset: QuerySet[RegisteredModel] | None = None) -> RegisteredModel:
    if queryset is None:
        queryset = RegisteredModel.objects.select_related("team", "owner", "created_by").prefetch_related("tags")
    model = queryset.filter(name=name).first()
    if model is None:
        raise Http404(f"There is no model named '{name}'.")
    return model


def model_versions(*, model: RegisteredModel) -> QuerySet[ModelVersion]:
    return model.versions.select_related("created_by").order_by("-number")


def model_datasets(*, model: RegisteredModel) -> QuerySet[Dataset]:
    return model.datasets.select_related("created_by").order_by("name")


def version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.select_related("model", "model__team", "created_by").order_by("-created_at")


def version_get(
    *, name: str, number: int, related: tuple[str, ...] = ("model", "model__team", "created_by", "parent")
) -> ModelVersion:
    version = ModelVersion.objects.select_related(*related).filter(model__name=name, number=number).first()
    if version is None:
        raise Http404(f"There is no version {number} of a model named '{name}'.")
    return version


def dataset_get(*, name: str, pk: int) -> Dataset:
    dataset = (
        Dataset.objects.select_related("model", "model__team", "created_by").filter(model__name=name, pk=pk).first()
    )
    if dataset is None:
        raise Http404(f"There is no dataset {pk} of a model named '{name}'.")
    return dataset


def stage_counts() -> dict[str, int]:
    rows = ModelVersion.objects.values("stage").annotate(n=Count("id"))
    counts = {stage: 0 for stage in Stage.values}
    counts.update({row["stage"]: row["n"] for row in rows})
    return counts


def job_list() -> QuerySet[Job]:
    return Job.objects.select_related("version", "version__model", "dataset", "requested_by").defer(
        "log", "result", "environment"
    )


def job_get(*, pk: int) -> Job:
    job = (
        Job.objects.select_related("version", "version__model", "version__model__team", "dataset", "requested_by")
        .filter(pk=pk)
        .first()
    )
    if job is None:
        raise Http404(f"There is no job {pk}.")
    return job


GPU_SEEN_DAYS = 30


def default_benchmark_device() -> str:
    """Where a benchmark goes when nobody says: a GPU worker once one has been seen running a benchmark on a GPU
    in the last month, else the CPU, so that a new install's first benchmark runs on a worker that exists."""
    since = timezone.now() - dt.timedelta(days=GPU_SEEN_DAYS)
    seen = Job.objects.filter(kind=JobKind.BENCHMARK, finished_at__gte=since, result__runtime__device="gpu").exists()
    return Device.GPU if seen else Device.CPU


def version_jobs(*, version: ModelVersion, limit: int = 10):
    return job_list().filter(version=version).order_by("-created_at")[:limit]


def reference_job(*, version: ModelVersion):
    """The validation whose feature histograms production drift is measured against: the latest passed
    validation of the version's current artifact that recorded them."""
    return (
        Job.objects.passed_validations_of(version.sha256)
        .filter(version=version, result__has_key="reference_histograms")
        .order_by("-finished_at", "-pk")
        .first()
    )


def observation_list(*, version: ModelVersion) -> QuerySet[Observation]:
    return Observation.objects.filter(version=version).select_related("reported_by").order_by("-observed_at", "-pk")
