"""Writes to the registry. Every function checks permission, validates, and records an audit event in
the same transaction; files are stored only after they were inspected, and removed again if the
transaction fails, so a refusal leaves no row and no file."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.text import slugify

from portal.errors import ApplicationError
from portal.models import Team
from portal.services import audit_event_record
from registry import permissions
from registry.artifacts import inspect_file, spool, storage_delete_quietly, storage_save
from registry.choices import DatasetFormat
from registry.job_services import floors_check
from registry.models import MODEL_CARD_FIELDS, Dataset, ModelVersion, RegisteredModel, Tag

EDITABLE_MODEL_FIELDS = (
    "description",
    "risk_tier",
    "task_type",
    "refresh_interval_days",
    "owner",
    "metric_floors",
    "noninferiority_margin",
    "slo_p99_latency_ms",
    "slo_min_throughput",
    *MODEL_CARD_FIELDS,
)

# Names that would collide with the portal's own paths under /models/.
RESERVED_MODEL_NAMES = frozenset({"new"})


def _snapshot(model: RegisteredModel) -> dict[str, Any]:
    data = {field: getattr(model, field) for field in EDITABLE_MODEL_FIELDS if field != "owner"}
    data["owner"] = model.owner.get_username()
    data["team"] = model.team.slug
    return data


def _tags_set(model: RegisteredModel, tags: list[str], *, new: bool = False) -> list[str]:
    names = sorted({slugify(t)[:50] for t in tags if slugify(t)})
    if new and not names:  # a new model has no tags to clear
        return names
    objs = [Tag.objects.get_or_create(name=name)[0] for name in names]
    model.tags.set(objs)
    return names


# Related rows the service has just read: full_clean need not query for them again. The database's own
# constraints (unique name, one production version, positive numbers) stand behind every save.
_FETCHED_RELATIONS = ["team", "owner", "created_by", "model", "parent"]


@transaction.atomic
def registered_model_create(
    *,
    actor: AbstractBaseUser,
    name: str,
    team: Team,
    task_type: str,
    risk_tier: str,
    owner: AbstractBaseUser | None = None,
    tags: list[str] | None = None,
    **card: Any,
) -> RegisteredModel:
    if not permissions.can_register_model(actor, team):
        raise PermissionDenied(f"You may register models only for your own teams; you are not in {team}.")
    unknown = set(card) - set(EDITABLE_MODEL_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    if name in RESERVED_MODEL_NAMES:
        raise ApplicationError(f"'{name}' is reserved by the portal's URLs; choose another name.", field="name")
    if "metric_floors" in card:
        card["metric_floors"] = floors_check(card["metric_floors"], task_type)
    model = RegisteredModel(
        name=name,
        team=team,
        owner=owner or actor,
        task_type=task_type,
        risk_tier=risk_tier,
        created_by=actor,
        **card,
    )
    model.full_clean(exclude=_FETCHED_RELATIONS)  # the unique name is checked here, for its friendly message
    model.save()
    after = _snapshot(model)
    after["tags"] = _tags_set(model, tags or [], new=True)
    audit_event_record(actor=actor, action="registry.model.created", obj=model, after=after)
    return model


@transaction.atomic
def registered_model_update(
    *, actor: AbstractBaseUser, model: RegisteredModel, tags: list[str] | None = None, **changes: Any
) -> RegisteredModel:
    model = RegisteredModel.objects.select_for_update().select_related("team", "owner").get(pk=model.pk)
    if not permissions.can_change_model(actor, model):
        raise PermissionDenied(f"Only members of {model.team} may change {model.name}.")
    unknown = set(changes) - set(EDITABLE_MODEL_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    before = _snapshot(model)
    before["tags"] = sorted(model.tags.values_list("name", flat=True))
    if "metric_floors" in changes or "task_type" in changes:
        changes["metric_floors"] = floors_check(
            changes.get("metric_floors", model.metric_floors), changes.get("task_type", model.task_type)
        )
    for field, value in changes.items():
        setattr(model, field, value)
    model.full_clean()
    model.save()
    after = _snapshot(model)
    after["tags"] = _tags_set(model, tags) if tags is not None else before["tags"]
    changed = {k for k in after if after[k] != before[k]}
    if changed:
        # A completed card or a new SLO may be the evidence an approved request was waiting for.
        from approvals.services import promotion_requests_recheck

        for version_id in model.versions.filter(requests__status="approved").values_list("pk", flat=True):
            transaction.on_commit(lambda v=version_id: promotion_requests_recheck(version_id=v))
        audit_event_record(
            actor=actor,
            action="registry.model.updated",
            obj=model,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    return model


def model_version_create(
    *,
    actor: AbstractBaseUser,
    model: RegisteredModel,
    artifact: Any,
    source_code_url: str = "",
    source_commit: str = "",
    training_run_url: str = "",
    training_data_ref: str = "",
    trained_at: dt.datetime | None = None,
    parent_number: int | None = None,
    metrics: dict[str, float] | None = None,
    notes: str = "",
) -> ModelVersion:
    """Register a new version of ``model`` from an ONNX file; the server assigns the number."""
    if not permissions.can_add_version(actor, model):
        raise PermissionDenied(f"Only data scientists of {model.team} may add versions to {model.name}.")
    metrics = _clean_metrics(metrics or {})
    spooled = spool(artifact, field="artifact")
    stored_key = None
    try:
        facts = inspect_file("onnx", spooled.path, field="artifact")
        with transaction.atomic():
            locked = RegisteredModel.objects.select_for_update().select_related("team").get(pk=model.pk)
            if not permissions.can_add_version(actor, locked):  # again, on the locked row
                raise PermissionDenied(f"Only data scientists of {locked.team} may add versions to {locked.name}.")
            twin = locked.versions.filter(sha256=spooled.sha256).values_list("number", flat=True).first()
            if twin is not None:
                raise ApplicationError(
                    f"This file is identical to v{twin} of {locked.name} (same SHA-256). A version's artifact never "
                    "changes, so there is nothing new to register.",
                    field="artifact",
                )
            number = (locked.versions.aggregate(n=Max("number"))["n"] or 0) + 1
            parent = None
            if parent_number is not None:
                parent = locked.versions.filter(number=parent_number).first()
                if parent is None:
                    raise ApplicationError(f"{model.name} has no version {parent_number}.", field="parent_number")
            version = ModelVersion(
                model=locked,
                number=number,
                format=facts["format"],
                sha256=spooled.sha256,
                size_bytes=spooled.size,
                signature=facts["signature"],
                opsets=facts["opsets"],
                ir_version=facts["ir_version"],
                producer=facts["producer"][:200],
                source_code_url=source_code_url,
                source_commit=source_commit,
                training_run_url=training_run_url,
                training_data_ref=training_data_ref,
                trained_at=trained_at,
                parent=parent,
                metrics=metrics,
                notes=notes,
                created_by=actor,
            )
            version.artifact.name = f"models/{locked.name}/v{number}/placeholder"
            # The number is unique under the model's row lock and a new version is in design: the fields are
            # validated here, the constraints by the database on insert.
            version.full_clean(exclude=_FETCHED_RELATIONS, validate_unique=False, validate_constraints=False)
            stored_key = storage_save(f"models/{locked.name}/v{number}/{spooled.sha256[:12]}.onnx", spooled)
            version.artifact.name = stored_key
            version.save()
            if locked.first_version_at is None:  # a flow milestone (registry.milestones)
                RegisteredModel.objects.filter(pk=locked.pk).update(first_version_at=version.created_at)
            audit_event_record(
                actor=actor,
                action="registry.version.created",
                obj=version,
                after={
                    "model": locked.name,
                    "number": number,
                    "sha256": spooled.sha256,
                    "size_bytes": spooled.size,
                    "stage": version.stage,
                    "source_commit": source_commit,
                    "metrics": metrics,
                },
            )
    except BaseException:
        storage_delete_quietly(stored_key)
        raise
    finally:
        spooled.cleanup()
    return version


def _clean_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    cleaned: dict[str, float] = {}
    for name, value in metrics.items():
        key = str(name).strip()
        if not key or len(key) > 64:
            raise ApplicationError("Metric names are 1 to 64 characters.", field="metrics")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ApplicationError(f"Metric '{key}' must be a number, not {value!r}.", field="metrics") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ApplicationError(f"Metric '{key}' must be a finite number.", field="metrics")
        cleaned[key] = number
    return cleaned


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
    if not permissions.can_add_dataset(actor, model):
        raise PermissionDenied(f"Only data scientists of {model.team} may add datasets to {model.name}.")
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
    spooled = spool(file, field="file")
    stored_key = None
    try:
        facts = inspect_file(fmt, spooled.path, field="file", label_column=label_column)
        with transaction.atomic():
            dataset = Dataset(
                model=model,
                name=name,
                description=description,
                format=fmt,
                sha256=spooled.sha256,
                size_bytes=spooled.size,
                row_count=facts["row_count"],
                columns=facts["columns"],
                label_column=label_column,
                created_by=actor,
            )
            dataset.file.name = "placeholder"
            dataset.full_clean()
            stored_key = storage_save(f"datasets/{model.name}/{slugify(name) or 'dataset'}.{fmt}", spooled)
            dataset.file.name = stored_key
            try:
                dataset.save()
            except IntegrityError:
                raise ApplicationError(f"{model.name} already has a dataset named '{name}'.", field="name") from None
            audit_event_record(
                actor=actor,
                action="registry.dataset.created",
                obj=dataset,
                after={
                    "model": model.name,
                    "name": name,
                    "sha256": spooled.sha256,
                    "rows": dataset.row_count,
                    "label_column": label_column,
                },
            )
    except BaseException:
        storage_delete_quietly(stored_key)
        raise
    finally:
        spooled.cleanup()
    return dataset
