"""Celery beat's daily work for the dashboard: thin tasks over the services."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="portal.debt_snapshot")
def debt_snapshot() -> int:
    from portal.services import debt_backfill, debt_snapshot_take

    debt_backfill()  # any day a stopped beat missed, rebuilt from the history
    return debt_snapshot_take()

