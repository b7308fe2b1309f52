"""Reads for the registry. List querysets carry everything their pages show, in a fixed number of queries."""

from __future__ import annotations

from django.db.models import Count, Max, OuterRef, Prefetch, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from registry.choices import Stage
from registry.models import Dataset, ModelVersion, RegisteredModel, Tag


def model_list() -> QuerySet[RegisteredModel]:
    production = ModelVersion.objects.filter(model=OuterRef("pk"), stage=Stage.PRODUCTION).values("number")[:1]
    return (
        RegisteredModel.objects.select_related("team", "owner")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .annotate(
            version_count=Count("versions", distinct=True),
            latest_version=Max("versions__number"),
            last_version_at=Max("versions__created_at"),
            production_version=Subquery(production),
        )
    )


def model_get(*, name: str) -> RegisteredModel:
    return get_object_or_404(
        RegisteredModel.objects.select_related("team", "owner", "created_by").prefetch_related("tags"), name=name
    )


def model_versions(*, model: RegisteredModel) -> QuerySet[ModelVersion]:
    return model.versions.select_related("created_by").order_by("-number")


def model_datasets(*, model: RegisteredModel) -> QuerySet[Dataset]:
    return model.datasets.select_related("created_by").order_by("name")


def version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.select_related("model", "model__team", "created_by").order_by("-created_at")


def version_get(*, name: str, number: int) -> ModelVersion:
    return get_object_or_404(
        ModelVersion.objects.select_related("model", "model__team", "created_by", "parent"),
        model__name=name,
        number=number,
    )


def dataset_get(*, name: str, pk: int) -> Dataset:
    return get_object_or_404(
        Dataset.objects.select_related("model", "model__team", "created_by"), model__name=name, pk=pk
    )


def stage_counts() -> dict[str, int]:
    rows = ModelVersion.objects.values("stage").annotate(n=Count("id"))
    counts = {stage: 0 for stage in Stage.values}
    counts.update({row["stage"]: row["n"] for row in rows})
    return counts
