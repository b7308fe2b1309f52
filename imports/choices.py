from django.db import models


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Finished"
    FAILED = "failed", "Failed"


FINISHED_RUN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED)


class Outcome(models.TextChoices):
    """What an import did with one MLflow version (a line of the report)."""

    IMPORTED = "imported", "Imported"
    WOULD_IMPORT = "would-import", "Would be imported (dry run)"
    SKIPPED = "skipped", "Skipped"
    REFUSED = "refused", "Refused"


class NameConflict(models.TextChoices):
    """What to do when an MLflow model's name is already a Gatehouse model that no import of it made."""

    REFUSE = "refuse", "Refuse the model"
    SUFFIX = "suffix", "Import under a suffixed name (name-mlflow, name-mlflow-2, ...)"


class AuditAction(models.TextChoices):
    """What imports record in the audit log (portal.core.audit); versions and models are audited by the
    registry's services they are created through."""

    SOURCE_CREATED = "imports.source.created", "MLflow source added"
    SOURCE_UPDATED = "imports.source.updated", "MLflow source changed"
    RUN_STARTED = "imports.run.started", "MLflow import started"
    RUN_FINISHED = "imports.run.finished", "MLflow import finished"
    IMPORTER_JOINED_TEAM = "imports.importer.joined_team", "Import account added to a team"
