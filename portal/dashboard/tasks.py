"""Celery beat's periodic work for the dashboard: thin tasks over the services."""

from __future__ import annotations

from celery import shared_task

from portal.core.locks import exclusive
from portal.dashboard.snapshots import debt_backfill, debt_snapshot_take


@shared_task(name="portal.debt_snapshot")
def debt_snapshot() -> int | None:
    # A first backfill of a large history can outlast the schedule: a second run waits its turn by skipping.
    with exclusive("portal.debt_snapshot") as mine:
        if not mine:
            return None
        debt_backfill()  # any day a stopped beat missed, rebuilt from the history
        return debt_snapshot_take()
