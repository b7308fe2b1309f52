"""Imports from MLflow: start a run, execute it (on a worker or in ``manage.py import_mlflow``).

Every imported version enters through ``registry.services.model_version_create``, the upload service of the
form and the API: digest, inspection in the sandbox, storage and audit are the registry's. A version is
matched on (server, MLflow name, MLflow version), so a run imports only what no earlier run brought in.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from imports import mapping
from imports.choices import AuditAction, NameConflict, Outcome, RunStatus
from imports.mlflow import (
    Credentials,
    MlflowClient,
    MlflowError,
    normalize_url,
)
from imports.models import ImportRun, ImportSource
from imports.permissions import require_start_import
from imports.services.importer import CONVERT_HINT, Importer, importer_account  # noqa: F401 - re-exported
from portal.core.errors import ApplicationError
from portal.core.locks import exclusive
from portal.core.models import Team
from portal.core.services import audit_event_record
from registry.choices import RiskTier, TaskType

logger = logging.getLogger(__name__)

REPORT_SAVE_EVERY_S = 1.0
STALE_RUN = dt.timedelta(hours=6)


def credentials() -> Credentials:
    return Credentials(
        token=settings.GATEHOUSE_MLFLOW_TOKEN,
        username=settings.GATEHOUSE_MLFLOW_USERNAME,
        password=settings.GATEHOUSE_MLFLOW_PASSWORD,
    )


def client_for(url: str) -> MlflowClient:
    return MlflowClient(url, timeout_s=settings.GATEHOUSE_IMPORT_HTTP_TIMEOUT_S, credentials=credentials())


# --- Sources ---------------------------------------------------------------------------------------------------

SOURCE_FIELDS = ("default_team", "team_prefixes", "team_tag", "risk_tier", "task_type", "name_conflict", "sync_enabled")


@transaction.atomic
def import_source_save(*, actor: AbstractBaseUser, url: str, **fields: Any) -> ImportSource:
    """Add an MLflow server, or change how an added one maps (matched on its normalised URL)."""
    require_start_import(actor)
    unknown = set(fields) - set(SOURCE_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    try:
        key = mapping_url(url)
        mapping.parse_prefixes(fields.get("team_prefixes", "") or "")
    except ValueError as exc:
        raise ApplicationError(str(exc), field="url" if "URL" in str(exc) else "team_prefixes") from None
    source = ImportSource.objects.select_for_update().filter(url=key).first()
    before = _source_snapshot(source) if source else None
    if source is None:
        source = ImportSource(url=key, created_by=actor)
    for name, value in fields.items():
        setattr(source, name, value)
    try:
        source.full_clean()
    except ValidationError as exc:
        raise ApplicationError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
    source.save()
    after = _source_snapshot(source)
    if before != after:
        action = AuditAction.SOURCE_UPDATED if before else AuditAction.SOURCE_CREATED
        audit_event_record(actor=actor, action=action, obj=source, before=before, after=after)
    return source


def mapping_url(url: str) -> str:
    return normalize_url(url)


def _source_snapshot(source: ImportSource) -> dict:
    return {
        "url": source.url,
        "default_team": source.default_team.slug if source.default_team_id else None,
        "team_prefixes": source.team_prefixes,
        "team_tag": source.team_tag,
        "risk_tier": source.risk_tier,
        "task_type": source.task_type,
        "name_conflict": source.name_conflict,
        "sync_enabled": source.sync_enabled,
    }


# --- Options: what a run maps with -----------------------------------------------------------------------------


@dataclass
class Options:
    url: str
    model: str | None = None  # one MLflow registered model, else all
    default_team: str | None = None
    prefixes: list[tuple[str, str]] = field(default_factory=list)
    team_tag: str = ""
    risk_tier: str = RiskTier.MEDIUM
    task_type: str = TaskType.OTHER
    name_conflict: str = NameConflict.REFUSE
    dry_run: bool = False

    def as_json(self) -> dict:
        return {**self.__dict__, "prefixes": [list(p) for p in self.prefixes]}

    @classmethod
    def from_json(cls, data: dict) -> Options:
        return cls(**{**data, "prefixes": [tuple(p) for p in data.get("prefixes", [])]})

    @classmethod
    def of_source(cls, source: ImportSource, **overrides: Any) -> Options:
        options = cls(
            url=source.url,
            default_team=source.default_team.slug if source.default_team_id else None,
            prefixes=mapping.parse_prefixes(source.team_prefixes),
            team_tag=source.team_tag,
            risk_tier=source.risk_tier,
            task_type=source.task_type,
            name_conflict=source.name_conflict,
        )
        for name, value in overrides.items():
            if value is not None:
                setattr(options, name, value)
        return options

    def check(self) -> None:
        if self.risk_tier not in RiskTier.values:
            raise ApplicationError(f"Risk tier {self.risk_tier!r} is not one of {', '.join(RiskTier.values)}.")
        if self.task_type not in TaskType.values:
            raise ApplicationError(f"Task type {self.task_type!r} is not one of {', '.join(TaskType.values)}.")
        if self.name_conflict not in NameConflict.values:
            raise ApplicationError(
                f"Name conflicts are {' or '.join(NameConflict.values)}, not {self.name_conflict!r}."
            )
        slugs = {s for _, s in self.prefixes} | ({self.default_team} if self.default_team else set())
        missing = sorted(slugs - set(Team.objects.filter(slug__in=slugs).values_list("slug", flat=True)))
        if missing:
            raise ApplicationError(f"No team has the slug {', '.join(repr(s) for s in missing)}.", field="team")


# --- Runs ------------------------------------------------------------------------------------------------------


@transaction.atomic
def import_run_create(
    *,
    actor: AbstractBaseUser | None,
    options: Options,
    source: ImportSource | None = None,
    trigger: str = "page",
    dispatch: bool = True,
) -> ImportRun:
    """Record a run and send it to a worker's ``cpu`` queue after commit (``dispatch``; the command executes it
    itself). ``actor`` None: beat's sync, or the command."""
    if actor is not None and trigger != "command":
        require_start_import(actor)
    options.url = mapping_url(options.url)
    options.check()
    run = ImportRun.objects.create(
        source=source,
        server_url=options.url,
        options=options.as_json(),
        dry_run=options.dry_run,
        trigger=trigger,
        started_by=actor,
        message="Waiting for a worker",
    )
    audit_event_record(actor=actor, action=AuditAction.RUN_STARTED, obj=run, after=_run_snapshot(run))
    if dispatch:
        transaction.on_commit(lambda: current_app.send_task("imports.run", args=[run.pk], queue="cpu"))
    return run


def _run_snapshot(run: ImportRun) -> dict:
    return {
        "server": run.server_url,
        "dry_run": run.dry_run,
        "trigger": run.trigger,
        "model": run.options.get("model"),
        "status": run.status,
        "imported": run.imported,
        "skipped": run.skipped,
        "refused": run.refused,
    }


def import_run_execute(*, run_id: int) -> ImportRun:
    """Execute a recorded run (the task's and the command's body); a run already taken is left alone."""
    claimed = ImportRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), message="Reading the MLflow server"
    )
    run = ImportRun.objects.get(pk=run_id)
    if not claimed:
        return run
    sink = _RunSink(run)
    options = Options.from_json(run.options)
    with exclusive(f"imports:{run.server_url}") as got:
        if not got:
            return sink.fail(f"Another import from {run.server_url} is running; this one did not start.")
        try:
            Importer(client=client_for(run.server_url), options=options, sink=sink, run=run).execute()
        except (MlflowError, ApplicationError) as exc:
            return sink.fail(str(exc))
        except Exception as exc:
            logger.exception("import #%s failed", run_id)
            return sink.fail(f"The import stopped: {type(exc).__name__}: {exc}")
    return sink.finish()


def import_plan(*, options: Options) -> list[dict]:
    """A dry run that writes nothing, not even a run: what an import would do (``import_mlflow --dry-run``)."""
    options.dry_run = True
    options.url = mapping_url(options.url)
    options.check()
    sink = _MemorySink()
    Importer(client=client_for(options.url), options=options, sink=sink, run=None).execute()
    return sink.report


# --- Progress and report ---------------------------------------------------------------------------------------


class _MemorySink:
    def __init__(self):
        self.report: list[dict] = []
        self.counts = {"imported": 0, "skipped": 0, "refused": 0}

    def line(self, *, outcome: str, model: str, version: str | None = None, reason: str = "", **extra: Any) -> None:
        self.report.append({"outcome": outcome, "model": model, "version": version, "reason": reason, **extra})
        key = {Outcome.IMPORTED: "imported", Outcome.WOULD_IMPORT: "imported", Outcome.REFUSED: "refused"}.get(
            outcome, "skipped"
        )
        self.counts[key] += 1

    def progress(self, fraction: float, message: str) -> None:
        pass


class _RunSink(_MemorySink):
    def __init__(self, run: ImportRun):
        super().__init__()
        self.run = run
        self._saved = 0.0

    def progress(self, fraction: float, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._saved < REPORT_SAVE_EVERY_S and fraction < 1:
            return
        self._saved = now
        ImportRun.objects.filter(pk=self.run.pk).update(
            progress=max(0, min(100, int(fraction * 100))), message=message[:300], report=self.report, **self.counts
        )

    def _end(self, status: str, message: str, error: str = "") -> ImportRun:
        run = self.run
        with transaction.atomic():
            ImportRun.objects.filter(pk=run.pk).update(
                status=status,
                progress=100 if status == RunStatus.SUCCEEDED else run.progress,
                message=message[:300],
                error=error,
                report=self.report,
                finished_at=timezone.now(),
                **self.counts,
            )
            run.refresh_from_db()
            audit_event_record(actor=run.started_by, action=AuditAction.RUN_FINISHED, obj=run, after=_run_snapshot(run))
            if run.source_id and not run.dry_run and status == RunStatus.SUCCEEDED:
                ImportSource.objects.filter(pk=run.source_id).update(last_synced_at=run.finished_at)
        return run

    def finish(self) -> ImportRun:
        c = self.counts
        verb = "would be imported" if self.run.dry_run else "imported"
        return self._end(RunStatus.SUCCEEDED, f"{c['imported']} {verb}, {c['skipped']} skipped, {c['refused']} refused")

    def fail(self, error: str) -> ImportRun:
        return self._end(RunStatus.FAILED, "Failed", error)


# --- Beat's sync -----------------------------------------------------------------------------------------------


def import_sources_sync() -> list[int]:
    """A run for each source with sync enabled and no run waiting or running."""
    started = []
    for source in ImportSource.objects.filter(sync_enabled=True).select_related("default_team"):
        # A run lost with its worker stops holding the source back after STALE_RUN (the lock guards overlap).
        recent = timezone.now() - STALE_RUN
        if source.runs.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING], created_at__gte=recent).exists():
            continue
        try:
            run = import_run_create(actor=None, options=Options.of_source(source), source=source, trigger="sync")
        except ApplicationError as exc:
            logger.warning("sync of %s not started: %s", source.url, exc)
            continue
        started.append(run.pk)
    return started
