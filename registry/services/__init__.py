"""Writes to the registry, one module per entity: models, versions, datasets, jobs, monitoring.

The functions most callers need are named here, so ``from registry import services`` reads as before.
"""

from registry.services.datasets import dataset_create
from registry.services.models import (
    EDITABLE_MODEL_FIELDS,
    model_milestone_record,
    registered_model_create,
    registered_model_update,
    risk_tier_lower,
)
from registry.services.versions import model_version_create, model_version_create_from_uploads

__all__ = [
    "EDITABLE_MODEL_FIELDS",
    "dataset_create",
    "model_milestone_record",
    "model_version_create",
    "model_version_create_from_uploads",
    "registered_model_create",
    "registered_model_update",
    "risk_tier_lower",
]
