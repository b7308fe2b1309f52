"""Writes of validation datasets: a CSV or Parquet file, its schema read in the sandbox, audited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from portal.core.errors import ApplicationError
from portal.core.services import audit_event_record
from registry import permissions
from registry.artifacts import incoming
from registry.choices import AuditAction, DatasetFormat
from registry.inspector import inspect_file
from registry.models import Dataset, RegisteredModel


def dataset_create(
    *,
    actor: AbstractBaseUser,
    model: RegisteredModel,
    name: str,
    file: Any,
    label_column: str,
    description: str = "",
) -> Dataset:
    """Attach a validation dataset (CSV or Parquet) to ``model`` after reading its schema."""
    permissions.require_add_dataset(actor, model)
    label_column = (label_column or "").strip()
    if not label_column:
        raise ApplicationError("Name the column that holds the labels.", field="label_column")
    suffix = str(getattr(file, "name", "")).lower().rsplit(".", 1)[-1]
    formats = {"csv": DatasetFormat.CSV, "parquet": DatasetFormat.PARQUET, "pq": DatasetFormat.PARQUET}
    if suffix not in formats:
        raise ApplicationError("Upload a .csv or .parquet file.", field="file")
    fmt = formats[suffix]
    if Dataset.objects.filter(model=model, name=name).exists():
        raise ApplicationError(f"{model.name} already has a dataset named '{name}'.", field="name")
    with incoming(file, field="file") as upload:
        facts = inspect_file(fmt, upload.path, field="file", label_column=label_column)
        with transaction.atomic():
            dataset = Dataset(
                model=model,
                name=name,
                description=description,
                format=fmt,
                sha256=upload.sha256,
                size_bytes=upload.size,
                row_count=facts["row_count"],
                columns=facts["columns"],
                label_column=label_column,
                created_by=actor,
            )
            dataset.file.name = "placeholder"
            dataset.full_clean()
            dataset.file.name = upload.store(f"datasets/{model.name}/{slugify(name) or 'dataset'}.{fmt}")
            try:
                dataset.save()
            except IntegrityError:
                raise ApplicationError(f"{model.name} already has a dataset named '{name}'.", field="name") from None
            audit_event_record(
                actor=actor,
                action=AuditAction.DATASET_CREATED,
                obj=dataset,
                after={
                    "model": model.name,
                    "name": name,
                    "sha256": upload.sha256,
                    "rows": dataset.row_count,
                    "label_column": label_column,
                },
            )
    return dataset
