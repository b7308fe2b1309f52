"""Writes for monitoring: observations reported by serving systems, and scheduled revalidation.

An observation is judged when it arrives: its metrics against the model's floors, its feature histograms
against the reference histograms of the version's latest passed validation (PSI). The verdict is stored on
the row, so the debt index and the pages read it without recomputing.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal.core.errors import ApplicationError
from portal.core.services import audit_event_record
from registry import permissions
from registry.choices import AuditAction, JobKind, Stage
from registry.evidence.drift import PSI_AMBER, PSI_RED, psi
from registry.evidence.scoring import LOWER_IS_BETTER
from registry.models import Job, ModelVersion, Observation
from registry.selectors import reference_job
from registry.services.jobs import job_create

logger = logging.getLogger(__name__)
# How often production must be heard from, per risk tier: past this an unreported version counts as
# unmonitored in the debt index.
MONITOR_WINDOW_DAYS = {"critical": 1, "high": 7, "medium": 14, "low": 30}
# How old a production version's last passed validation may be, per risk tier: past this it is validated
# again on schedule, and counts as overdue in the debt index.
REVALIDATE_DAYS = {"critical": 90, "high": 180, "medium": 365, "low": 365}
CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_SAMPLES = 2**63 - 1  # what the column holds
SCHEDULER_USERNAME = "gatehouse-scheduler"


def _moment(value: Any, name: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = parse_datetime(str(value))
        except ValueError:  # well formed, but no such moment (month 13, hour 99)
            moment = None
        if moment is None:
            raise ApplicationError(f"{name} must be an ISO 8601 date and time, e.g. 2026-11-27T08:00:00Z.", field=name)
    if timezone.is_naive(moment):
        raise ApplicationError(f"{name} needs a time zone (end it with Z or +01:00).", field=name)
    return moment


def _metrics(raw: Any) -> dict[str, float]:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise ApplicationError(
            'metrics must be an object of names and numbers, e.g. {"accuracy": 0.93}.', field="metrics"
        )
    limit = settings.GATEHOUSE_OBSERVATION_MAX_METRICS
    if len(raw) > limit:
        raise ApplicationError(
            f"{len(raw):,} metrics; an observation carries at most {limit:,} (GATEHOUSE_OBSERVATION_MAX_METRICS).",
            field="metrics",
        )
    out = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ApplicationError(f"Metric {name!r} must be a finite number, not {value!r}.", field="metrics")
        out[str(name)[:50]] = float(value)
    return out


def _histograms(raw: Any, reference: dict[str, dict] | None) -> tuple[dict[str, list[int]], dict[str, float]]:
    if raw in (None, ""):
        return {}, {}
    if not isinstance(raw, dict):
        raise ApplicationError(
            "histograms must be an object: feature name → list of counts on the reference edges.", field="histograms"
        )
    if reference is None:
        raise ApplicationError(
            "This version has no reference histograms yet: run a validation of it (it "
            "records them), then report histograms.",
            field="histograms",
        )
    limit = settings.GATEHOUSE_OBSERVATION_MAX_FEATURES
    if len(raw) > limit:
        raise ApplicationError(
            f"{len(raw):,} features; an observation carries at most {limit:,} (GATEHOUSE_OBSERVATION_MAX_FEATURES).",
            field="histograms",
        )
    counts, values = {}, {}
    for feature, observed in raw.items():
        ref = reference.get(feature)
        if ref is None:
            known = ", ".join(sorted(reference)[:15])
            raise ApplicationError(
                f"Feature {feature!r} has no reference histogram (features: {known}).", field="histograms"
            )
        if not isinstance(observed, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in observed
        ):
            raise ApplicationError(
                f"The histogram of {feature!r} must be a list of counts (whole numbers ≥ 0).", field="histograms"
            )
        if len(observed) != len(ref["counts"]):
            raise ApplicationError(
                f"The histogram of {feature!r} has {len(observed)} bins; its reference has {len(ref['counts'])} "
                f"(edges {ref['edges']}). Count on those edges: GET the version's reference.",
                field="histograms",
            )
        if sum(observed) == 0:
            raise ApplicationError(f"The histogram of {feature!r} counts nothing.", field="histograms")
        counts[feature] = observed
        values[feature] = round(psi(ref["counts"], observed), 6)
    return counts, values


def judge(model, metrics: dict[str, float], psi_values: dict[str, float]) -> tuple[list[str], float | None, float]:
    """(metrics under their floor, the largest PSI, degradation 0 / 0.5 / 1)."""
    below = []
    for name, floor in sorted((model.metric_floors or {}).items()):
        if name in metrics:
            value = metrics[name]
            if (value > floor) if name in LOWER_IS_BETTER else (value < floor):
                below.append(name)
    max_psi = max(psi_values.values()) if psi_values else None
    if below or (max_psi is not None and max_psi >= PSI_RED):
        degradation = 1.0
    elif max_psi is not None and max_psi >= PSI_AMBER:
        degradation = 0.5
    else:
        degradation = 0.0
    return below, max_psi, degradation


def _window(
    observed_at: Any, window_start: Any, sample_count: Any
) -> tuple[dt.datetime, dt.datetime | None, int | None]:
    """The window the values describe (its end defaults to now; never in the future) and its sample count."""
    now = timezone.now()
    observed = _moment(observed_at, "observed_at") or now
    if observed > now + CLOCK_SKEW:
        raise ApplicationError(
            "observed_at is in the future; send the end of the window the values describe.", field="observed_at"
        )
    start = _moment(window_start, "window_start")
    if start is not None and start > observed:
        raise ApplicationError("window_start is after observed_at.", field="window_start")
    if sample_count in (None, ""):
        return observed, start, None
    if isinstance(sample_count, bool) or not isinstance(sample_count, int) or not 0 <= sample_count <= MAX_SAMPLES:
        raise ApplicationError(f"sample_count must be a whole number from 0 to {MAX_SAMPLES:,}.", field="sample_count")
    return observed, start, sample_count


def observation_record(
    *,
    actor: AbstractBaseUser,
    version: ModelVersion,
    observed_at: Any = None,
    window_start: Any = None,
    sample_count: Any = None,
    metrics: Any = None,
    histograms: Any = None,
    source: str = "",
) -> Observation:
    model = version.model
    permissions.require_report_observation(actor, model)
    if version.stage != Stage.PRODUCTION:
        raise ApplicationError(
            f"{version} is in {version.stage}; observations are reported for the version in production.",
            field="version",
        )
    observed, start, sample_count = _window(observed_at, window_start, sample_count)
    if observed_at not in (None, ""):
        # A serving system that retries sends the same window again: the first report stands, no duplicate.
        same = Observation.objects.filter(version=version, observed_at=observed, source=str(source or "")[:100]).first()
        if same is not None:
            same.replayed = True
            return same
    values = _metrics(metrics)
    reference = reference_job(version=version)
    counts, psi_values = _histograms(
        histograms, (reference.result or {}).get("reference_histograms") if reference else None
    )
    if not values and not counts:
        raise ApplicationError("Send metrics, histograms, or both.", field="metrics")
    below, max_psi, degradation = judge(model, values, psi_values)
    with transaction.atomic():
        obs = Observation.objects.create(
            version=version,
            observed_at=observed,
            window_start=start,
            sample_count=sample_count,
            metrics=values,
            histograms=counts,
            psi=psi_values,
            max_psi=max_psi,
            below_floor=below,
            degradation=degradation,
            reference_job=reference if counts else None,
            source=str(source or "")[:100],
            reported_by=actor,
        )
        audit_event_record(
            actor=actor,
            action=AuditAction.OBSERVATION_RECORDED,
            obj=obs,
            after={
                "version": str(version),
                "observed_at": observed.isoformat(),
                "metrics": values,
                "max_psi": max_psi,
                "below_floor": below,
                "degradation": degradation,
            },
        )
    return obs


# --- Scheduled revalidation --------------------------------------------------------------------------------


def scheduler_user():
    """The account scheduled jobs are requested by: it has no role and cannot sign in; the audit log names it."""
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=SCHEDULER_USERNAME, defaults={"first_name": "Gatehouse", "last_name": "scheduler"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


RETRY_AFTER = dt.timedelta(days=7)


def revalidation_due(*, now: dt.datetime | None = None) -> list[tuple[ModelVersion, Job]]:
    """Production versions whose last passed validation is older than their tier's interval, with the
    validation to repeat (same dataset). Versions never validated are not guessed at; one whose scheduled
    revalidation failed is tried again a week later, not at every run. Three queries in all."""
    now = now or timezone.now()
    passed = (
        Job.objects.passed_validations_of(OuterRef("sha256"))
        .filter(version=OuterRef("pk"))
        .order_by("-finished_at", "-pk")
    )
    scheduled = Job.objects.filter(
        version=OuterRef("pk"), kind=JobKind.VALIDATION, requested_by__username=SCHEDULER_USERNAME
    ).order_by("-created_at")
    busy = Job.objects.filter(version=OuterRef("pk"), kind=JobKind.VALIDATION).in_flight()
    candidates = (
        ModelVersion.objects.in_production()
        .select_related("model")
        .annotate(
            last_passed=Subquery(passed.values("pk")[:1]),
            last_passed_at=Subquery(passed.values("finished_at")[:1]),
            last_scheduled_at=Subquery(scheduled.values("created_at")[:1]),
            busy=Exists(busy),
        )
    )
    due = []
    for version in candidates:
        if version.last_passed is None or version.busy:
            continue
        if now - version.last_passed_at <= dt.timedelta(days=REVALIDATE_DAYS[version.model.risk_tier]):
            continue
        if version.last_scheduled_at and now - version.last_scheduled_at < RETRY_AFTER:
            continue  # a scheduled run since the last pass did not pass: wait a week before the next
        due.append(version)
    jobs = {j.pk: j for j in Job.objects.filter(pk__in=[v.last_passed for v in due]).select_related("dataset")}
    return [(v, jobs[v.last_passed]) for v in due if jobs[v.last_passed].dataset_id is not None]


def revalidations_start(*, now: dt.datetime | None = None) -> list[Job]:
    """Start the validations that are due (Celery beat calls this every 6 hours)."""
    actor = scheduler_user()
    started = []
    for version, last in revalidation_due(now=now):
        # The model's floors and margin as they are now, so that the new evidence counts.
        params = {"batch_rows": last.parameters.get("batch_rows", 50_000)}
        job = job_create(
            actor=actor,
            version=version,
            kind=JobKind.VALIDATION,
            dataset=last.dataset,
            parameters=params,
            scheduled=True,
        )
        logger.info("scheduled revalidation of %s: job %s", version, job.pk)
        started.append(job)
    return started
