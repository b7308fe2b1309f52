"""Writes of versions: an ONNX file becomes an immutable, numbered, inspected and audited version."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict, Unpack

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction

from portal.core.errors import ApplicationError
from portal.core.services import audit_event_record
from registry import permissions
from registry.artifacts import incoming_set
from registry.choices import AuditAction
from registry.inspector import inspect_file
from registry.models import ModelVersion, RegisteredModel
from registry.services.models import FETCHED_RELATIONS
from registry.signatures import signature_verify
from transfers.services import uploads_claimed


class Lineage(TypedDict, total=False):
    """Where a version came from, as its submitter says."""

    source_code_url: str
    source_commit: str
    training_run_url: str
    training_data_ref: str
    trained_at: dt.datetime | None
    notes: str


def model_version_create(
    *,
    actor: AbstractBaseUser,
    model: RegisteredModel,
    artifact: Any,
    data: list[Any] | None = None,
    parent_number: int | None = None,
    metrics: dict[str, float] | None = None,
    signature: Any = None,
    **lineage: Unpack[Lineage],
) -> ModelVersion:
    """Register a new version of ``model`` from an ONNX file and, for a model whose weights live outside the
    graph, the external data files its tensors name (``data``, each named by its location); the server
    assigns the number. The digest is the file's SHA-256, or the set's root digest (registry/manifests.py)."""
    permissions.require_add_version(actor, model)
    metrics = _clean_metrics(metrics or {})
    with incoming_set(artifact, data, field="artifact") as upload:
        facts = inspect_file("onnx", upload.path, field="artifact", data_files=upload.data_sizes)
        signing = _signing_fields(upload, signature)
        with transaction.atomic():
            locked, number = _locked_for_upload(actor, model, upload.sha256)
            version = ModelVersion(
                model=locked,
                number=number,
                format=facts["format"],
                sha256=upload.sha256,
                size_bytes=upload.size,
                files=upload.manifest,  # each entry gets its storage key when stored, below
                signature=facts["signature"],
                opsets=facts["opsets"],
                ir_version=facts["ir_version"],
                producer=facts["producer"][:200],
                **signing,
                parent=_parent(locked, parent_number),
                metrics=metrics,
                created_by=actor,
                **lineage,
            )
            version.artifact.name = f"models/{locked.name}/v{number}/placeholder"
            # The number is unique under the model's row lock and a new version is in design: the fields are
            # validated here, the constraints by the database on insert.
            version.full_clean(exclude=FETCHED_RELATIONS, validate_unique=False, validate_constraints=False)
            folder = f"models/{locked.name}/v{number}"
            version.artifact.name, version.files = upload.store(
                f"{folder}/{upload.sha256[:12]}", f"{folder}/{upload.sha256[:12]}.onnx"
            )
            version.save()
            if locked.first_version_at is None:  # a flow milestone (approvals.milestones)
                RegisteredModel.objects.filter(pk=locked.pk).update(first_version_at=version.created_at)
            _audit_created(actor, version)
    return version


def _signing_fields(upload, signature: Any) -> dict[str, Any]:
    """Who signed the files, verified against them as uploaded (registry/signatures.py); nothing if unsigned."""
    if signature is None:
        return {}
    single = len(upload.manifest) == 1
    signed = signature_verify(model_path=upload.path, folder=upload.folder, single=single, fileobj=signature)
    return {"signed_by": signed.signer, "signing_keyid": signed.keyid, "signing_bundle": signed.bundle}


def _audit_created(actor: AbstractBaseUser, version: ModelVersion) -> None:
    audit_event_record(
        actor=actor,
        action=AuditAction.VERSION_CREATED,
        obj=version,
        after={
            "model": version.model.name,
            "number": version.number,
            "sha256": version.sha256,
            "size_bytes": version.size_bytes,
            "files": [{k: f[k] for k in ("path", "size", "sha256")} for f in version.files],
            "stage": version.stage,
            "signed_by": version.signed_by,
            "source_commit": version.source_commit,
            "metrics": version.metrics,
        },
    )


def model_version_create_from_uploads(
    *,
    actor: AbstractBaseUser,
    model: RegisteredModel,
    artifact_upload: str,
    data_uploads: list[str] | None = None,
    **fields: Any,
) -> ModelVersion:
    """``model_version_create`` from finished resumable uploads (transfers): the ONNX file and each data file,
    its path in the set the filename its upload announced. The uploads are used up either way: registered, or
    refused and removed, so a refusal leaves no part behind."""
    permissions.require_add_version(actor, model)
    with uploads_claimed(actor=actor, ids=[str(artifact_upload), *map(str, data_uploads or [])]) as files:
        return model_version_create(actor=actor, model=model, artifact=files[0], data=files[1:], **fields)


def _locked_for_upload(actor: AbstractBaseUser, model: RegisteredModel, sha256: str) -> tuple[RegisteredModel, int]:
    """The model's row, locked for numbering (its own row only: no join), the team rule checked again
    on it, the same bytes refused; and the next number. The twin and the number come from one query."""
    locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)  # a refusal reads the team, lazily
    permissions.require_add_version(actor, locked)
    last, twin = _last_and_twin(locked.pk, sha256)
    if twin is not None:
        raise ApplicationError(
            f"These files are identical to v{twin} of {locked.name} (the same digest). A version's artifact never "
            "changes, so there is nothing new to register.",
            field="artifact",
        )
    return locked, (last or 0) + 1


# aggregate(Max, Min(filter=Q)) said the same, but building it cost a tenth of the upload's CPU in the web
# process (bench/README.md §9): one fixed statement, on the (model, number) index, with two parameters.
_LAST_AND_TWIN = 'SELECT MAX("number"), MIN("number") FILTER (WHERE "sha256" = %s) FROM {table} WHERE "model_id" = %s'


def _last_and_twin(model_id: int, sha256: str) -> tuple[int | None, int | None]:
    """The model's highest version number, and the number of its version with these bytes (or None)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _LAST_AND_TWIN.format(table=connection.ops.quote_name(ModelVersion._meta.db_table)), [sha256, model_id]
        )
        return cursor.fetchone()


def _parent(model: RegisteredModel, number: int | None) -> ModelVersion | None:
    if number is None:
        return None
    parent = model.versions.filter(number=number).first()
    if parent is None:
        raise ApplicationError(f"{model.name} has no version {number}.", field="parent_number")
    return parent


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
