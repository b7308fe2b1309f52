"""Celery tasks: thin. An import runs on the ``cpu`` queue; beat's sync starts one per enabled source."""

from __future__ import annotations

from celery import shared_task
from django.db import close_old_connections

from imports import services


@shared_task(name="imports.run", acks_late=True, reject_on_worker_lost=True)
def run_import(run_id: int) -> str:
    close_old_connections()
    try:
        return services.import_run_execute(run_id=run_id).status
    finally:
        close_old_connections()


@shared_task(name="imports.sources_sync")
def sources_sync() -> list[int]:
    return services.import_sources_sync()
