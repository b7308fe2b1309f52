"""The kernel's scheduled work (beat): signed checkpoints of the audit chain."""

from celery import shared_task

from portal.core.services import audit_checkpoint_sign


@shared_task(name="portal.audit_checkpoint")
def audit_checkpoint() -> None:
    audit_checkpoint_sign(reason="schedule")
