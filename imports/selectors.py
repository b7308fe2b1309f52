"""Reads of imports: the runs page, a run, a version's MLflow origin."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from imports.models import ImportedVersion, ImportRun, ImportSource


def import_run_list(limit: int = 50) -> QuerySet[ImportRun]:
    return ImportRun.objects.select_related("started_by", "source").defer("report")[:limit]


def import_run_get(*, pk: int) -> ImportRun:
    return get_object_or_404(ImportRun.objects.select_related("started_by", "source"), pk=pk)


def import_source_list() -> QuerySet[ImportSource]:
    return ImportSource.objects.select_related("default_team")


def version_origin(version) -> ImportedVersion | None:
    return ImportedVersion.objects.filter(version_id=version.pk).select_related("run").first()
