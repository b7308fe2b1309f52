"""Celery beat that runs once: a second scheduler, on this host or against the same database, refuses to start,
so no periodic task is ever sent twice (two reapers re-sending the same jobs, two snapshots at once)."""

from __future__ import annotations

import fcntl
import hashlib
import logging

from celery.beat import PersistentScheduler
from django.db import connections

logger = logging.getLogger(__name__)


class AnotherBeatIsRunning(SystemExit):
    pass


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class ExclusiveScheduler(PersistentScheduler):
    """Holds, for its whole life, a lock on its schedule file (one host) and on PostgreSQL an advisory lock on
    a connection of its own (every host that shares the database)."""

    def setup_schedule(self):
        self._lock_file = open(f"{self.schedule_filename}.lock", "a")  # noqa: SIM115 - held until the process ends
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AnotherBeatIsRunning(
                f"Another beat holds {self.schedule_filename}.lock: this one stops, so no task is sent twice."
            ) from None
        self._database_lock()
        super().setup_schedule()

    def _database_lock(self) -> None:
        if connections["default"].vendor != "postgresql":
            return
        self._connection = connections.create_connection("default")  # not the pool's: Django never closes it
        self._connection.ensure_connection()
        with self._connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key("gatehouse.beat")])
            if not cursor.fetchone()[0]:
                raise AnotherBeatIsRunning(
                    "Another beat runs against this database: this one stops, so no task is sent twice."
                )
        logger.info("beat: holding the scheduler lock")
