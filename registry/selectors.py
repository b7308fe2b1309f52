"""Reads for the registry. List querysets carry everything their pages show, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from fleet import devices
from fleet.broker import BASE_QUEUES
from fleet.selectors import Fleet, fleet_now
from registry import signals
from registry.choices import JobKind, JobStatus, RiskTier, Stage
from registry.evidence.benchmark import headline
from registry.models import Dataset, Job, ModelVersion, Observation, RegisteredModel, Tag


def model_list() -> QuerySet[RegisteredModel]:
    # Correlated subqueries on the (model, number) index rather than a join with GROUP BY: the database
    # computes them for the page it returns, not for every model with every version.
    versions = ModelVersion.objects.filter(model=OuterRef("pk")).order_by()
    newest = versions.order_by("-number")
    production = versions.filter(stage=Stage.PRODUCTION).values("number")[:1]
    return (
        RegisteredModel.objects.select_related("team", "owner")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .annotate(
            version_count=Coalesce(Subquery(versions.values("model").annotate(n=Count("pk")).values("n")), 0),
            latest_version=Subquery(newest.values("number")[:1]),
            # Numbers are given in upload order, so the newest number is also the latest upload.
            last_version_at=Subquery(newest.values("created_at")[:1]),
            production_version=Subquery(production),
            # Sorting by risk means by severity, not by the alphabet.
            risk_rank=Case(
                *[When(risk_tier=tier, then=Value(rank)) for rank, tier in enumerate(RiskTier.values)],
                output_field=IntegerField(),
            ),
        )
    )


def model_get(*, name: str, queryset: QuerySet[RegisteredModel] | None = None) -> RegisteredModel:
    if queryset is None:
        queryset = RegisteredModel.objects.select_related("team", "owner", "created_by").prefetch_related("tags")
    # get(), not first(): the name is unique, and first() adds an ORDER BY whose compilation costs more CPU than
    # the query (bench/README.md §9).
    try:
        return queryset.get(name=name)
    except RegisteredModel.DoesNotExist:
        raise Http404(f"There is no model named '{name}'.") from None


def model_versions(*, model: RegisteredModel) -> QuerySet[ModelVersion]:
    return model.versions.select_related("created_by").order_by("-number")


def versions_of(*, name: str) -> QuerySet[ModelVersion]:
    """model_versions by the model's name, without reading the model first."""
    return ModelVersion.objects.filter(model__name=name).select_related("created_by").order_by("-number")


def model_datasets(*, model: RegisteredModel) -> QuerySet[Dataset]:
    return model.datasets.select_related("created_by").order_by("name")


def version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.select_related("model", "model__team", "created_by").order_by("-created_at")


def version_get(
    *,
    name: str,
    number: int,
    related: tuple[str, ...] = ("model", "model__team", "created_by", "parent"),
    columns: tuple[str, ...] = (),
) -> ModelVersion:
    """``columns``: only these (an API serializer's), every column of ``related`` when empty."""
    queryset = ModelVersion.objects.select_related(*related)
    if columns:
        queryset = queryset.only(*columns)
    try:  # unique on (model, number): get() skips first()'s ORDER BY
        return queryset.get(model__name=name, number=number)
    except ModelVersion.DoesNotExist:
        raise Http404(f"There is no version {number} of a model named '{name}'.") from None


def dataset_get(*, name: str, pk: int) -> Dataset:
    dataset = (
        Dataset.objects.select_related("model", "model__team", "created_by").filter(model__name=name, pk=pk).first()
    )
    if dataset is None:
        raise Http404(f"There is no dataset {pk} of a model named '{name}'.")
    return dataset


def stage_counts() -> dict[str, int]:
    rows = ModelVersion.objects.values("stage").annotate(n=Count("id"))
    counts = {stage: 0 for stage in Stage.values}
    counts.update({row["stage"]: row["n"] for row in rows})
    return counts


def job_list() -> QuerySet[Job]:
    return Job.objects.select_related("version", "version__model", "dataset", "requested_by").defer(
        "log", "result", "environment"
    )


def job_get(*, pk: int) -> Job:
    job = (
        Job.objects.select_related("version", "version__model", "version__model__team", "dataset", "requested_by")
        .filter(pk=pk)
        .first()
    )
    if job is None:
        raise Http404(f"There is no job {pk}.")
    return job


def policy_device(version: ModelVersion | None) -> str:
    """The device the workflow wants this version's benchmark on ("" any), asked through a signal so that the
    registry never imports the workflow (approvals answers from the policy of the version's next step)."""
    if version is None:
        return ""
    answers = signals.benchmark_device_wanted.send(sender=ModelVersion, version=version)
    return next((answer for _, answer in answers if answer), "")


@dataclass(frozen=True)
class DeviceOffer:
    """What the benchmark forms offer: every choice says whether a worker is online to run it."""

    choices: list[tuple[str, str]]
    default: str
    wanted: str  # the policy's device, "" when it asks for none
    fleet: Fleet


def benchmark_device_offer(version: ModelVersion | None = None, *, wanted: str | None = None) -> DeviceOffer:
    """The CPU, any GPU (with a warning when none is online), each class online, and the class the policy
    needs even when none is online (the job then waits). The default: the CPU while no GPU worker is online,
    otherwise the policy's device, or any GPU."""
    fleet = fleet_now()
    wanted = policy_device(version) if wanted is None else wanted
    gpu_workers = sum(1 for w in fleet.online if w.serves_gpu)
    choices = [
        (devices.CPU, "CPU" if fleet.serves(devices.CPU) else "CPU — no CPU worker is online; the job would wait"),
        (
            devices.ANY_GPU,
            f"Any GPU ({gpu_workers} GPU worker{'s' * (gpu_workers != 1)} online)"
            if fleet.gpu_online
            else "Any GPU — no GPU worker is online; the job would wait",
        ),
    ]
    for device_class, workers in sorted(fleet.classes.items()):
        choices.append((device_class, f"{device_class.upper()} ({len(workers)} online)"))
    if wanted not in ("", devices.CPU, devices.ANY_GPU, *fleet.classes):
        choices.append((wanted, f"{wanted.upper()} — no worker of this class is online; the job would wait"))
    default = (wanted or devices.ANY_GPU) if fleet.gpu_online else devices.CPU
    return DeviceOffer(choices=choices, default=default, wanted=wanted, fleet=fleet)


def job_waiting(job: Job, fleet: Fleet | None = None) -> str:
    """Why a queued job waits, when no online worker consumes its queue ("no worker of class h100 is online;
    the job waits until one starts"); "" once it runs or while a worker that could take it is online."""
    if job.status != JobStatus.QUEUED:
        return ""
    return (fleet or fleet_now()).waiting_reason(job.device, job.queue)


def latest_benchmarks_by_class(version: ModelVersion) -> list[tuple[Job, dict]]:
    """The version's latest completed benchmark on each device class it ran on, with its headline figures,
    side by side (one query, whatever the number of benchmarks)."""
    done = Job.objects.filter(version=version, kind=JobKind.BENCHMARK, status=JobStatus.SUCCEEDED)
    latest = done.filter(device_class=OuterRef("device_class")).order_by("-finished_at", "-pk").values("pk")[:1]
    jobs = done.filter(pk=Subquery(latest)).only("pk", "device_class", "gpu_uuid", "verdict", "result", "finished_at")
    return [(job, headline(job.result or {})) for job in jobs.order_by("device_class")]


def version_jobs(*, version: ModelVersion, limit: int = 10) -> list[Job]:
    """The version's latest jobs, each given the version (and its model) already read: no join for them."""
    jobs = list(
        Job.objects.filter(version=version)
        .select_related("dataset")
        .defer("log", "result", "environment")
        .order_by("-created_at")[:limit]
    )
    for job in jobs:
        job.version = version
    return jobs


def reference_job(*, version: ModelVersion):
    """The validation whose feature histograms production drift is measured against: the latest passed
    validation of the version's current artifact that recorded them."""
    return (
        Job.objects.passed_validations_of(version.sha256)
        .filter(version=version, result__has_key="reference_histograms")
        .order_by("-finished_at", "-pk")
        .first()
    )


def observation_list(*, version: ModelVersion) -> QuerySet[Observation]:
    return Observation.objects.filter(version=version).select_related("reported_by").order_by("-observed_at", "-pk")


WATCHED_WAITING_QUEUES = 50


@dataclass(frozen=True)
class ClassSummary:
    device: str  # "cpu", "gpu" (any GPU) or a class
    queue: str
    online: int
    queued: int  # jobs waiting for it (the database's count: the truth about jobs, whatever the broker holds)


def fleet_summary(fleet: Fleet) -> list[ClassSummary]:
    """Per device: workers online and jobs queued ("h100: 2 workers online, 0 queued"), for every device that
    has a worker online or a job waiting (one query for the waiting jobs)."""
    waiting = Job.objects.filter(status=JobStatus.QUEUED).values_list("queue").annotate(n=Count("pk"))
    queued = dict(waiting.order_by("queue")[: WATCHED_WAITING_QUEUES + len(BASE_QUEUES)])
    rows = [
        ClassSummary(devices.CPU, devices.CPU, sum(devices.CPU in w.queues for w in fleet.online), 0),
        ClassSummary(devices.ANY_GPU, devices.ANY_GPU, sum(w.serves_gpu for w in fleet.online), 0),
    ]
    classes = set(fleet.classes) | {devices.class_of_queue(q) for q in queued} - {""}
    rows += [ClassSummary(c, devices.queue_for(c), len(fleet.classes.get(c, [])), 0) for c in sorted(classes)]
    return [ClassSummary(r.device, r.queue, r.online, queued.get(r.queue, 0)) for r in rows]


def watched_queues(fleet: Fleet) -> list[str]:
    """The broker queues worth reporting: the fixed ones, those online workers consume, and those jobs wait in
    (at most WATCHED_WAITING_QUEUES of these: a class is any name a client gives, and /metrics' labels and the
    page must stay bounded whatever they send)."""
    waiting = Job.objects.filter(status=JobStatus.QUEUED).values_list("queue", flat=True).distinct().order_by("queue")
    return sorted(
        set(BASE_QUEUES) | {q for w in fleet.online for q in w.queues} | set(waiting[:WATCHED_WAITING_QUEUES])
    )


def worker_activity(names: list[str], job_ids: list[int], *, now: dt.datetime | None = None):
    """For a page of workers: jobs each finished in the last 24 hours, and the jobs they run now (two queries)."""
    since = (now or timezone.now()) - dt.timedelta(hours=24)
    finished = dict(
        Job.objects.filter(worker__in=names, finished_at__gte=since)
        .values_list("worker")
        .annotate(n=Count("pk"))
        .order_by()
    )
    running = job_list().in_bulk([i for i in job_ids if i]) if any(job_ids) else {}
    return finished, running
