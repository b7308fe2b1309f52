from celery import shared_task

from transfers import services


@shared_task(name="transfers.uploads_sweep")
def uploads_sweep() -> int:
    """Remove resumable uploads left untouched past GATEHOUSE_RESUMABLE_EXPIRE_H."""
    return services.uploads_sweep()
