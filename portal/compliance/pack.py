"""The compliance evidence pack of one model version: what Gatehouse holds about it, read from the database in
a fixed number of queries, as plain dataclasses (the page, the PDF and the JSON all render this one value).

Every list is bounded by ``GATEHOUSE_PACK_MAX_ROWS`` and says how many rows it left out, so the pack of a
version with years of history costs what a young one does. Nothing here is computed for show: each figure is
a row or a column of the version, its model, its jobs, observations, findings, requests and audit events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from portal.compliance import mapping
from portal.compliance.evidence import BenchmarkRow, ValidationRow, benchmark_row, validation_row
from portal.compliance.extract import AuditExtract, audit_extract
from portal.compliance.release import ApprovalChain, Findings, approval_chain, findings
from portal.compliance.rows import Rows, bounded, bounded_list, max_rows
from registry import selectors
from registry.choices import JobKind, JobStatus, Stage, Verdict
from registry.models import MODEL_CARD_FIELDS, Job, ModelVersion, RegisteredModel

FORMAT = "gatehouse.compliance-pack/v1"
# The card fields that say what the model is for and where it stops (section 2.1); the rest describe data
# and metrics (section 2.2).
USE_AND_LIMITS = ("intended_use", "out_of_scope_use", "limitations", "caveats", "ethical_considerations")


@dataclass
class Identification:  # section 1
    model: str
    description: str
    team: str
    owner: str
    risk_tier: str
    task_type: str
    version: int
    stage: str
    sha256: str
    digest_of: str  # what the digest is over, in words
    size_bytes: int
    files: Rows[dict]
    format: str
    ir_version: int | None
    opsets: dict
    producer: str
    inputs: list[dict]
    outputs: list[dict]
    parent: int | None
    source_code_url: str
    source_commit: str
    training_run_url: str
    training_data_ref: str
    trained_at: Any
    signed_by: str
    signing_keyid: str
    uploaded_at: Any
    uploaded_by: str
    integrity_error: str
    integrity_checked_at: Any
    offline_metrics: dict


@dataclass
class CardField:
    name: str
    label: str
    text: str


@dataclass
class ModelCard:  # section 2
    use_and_limits: list[CardField]
    other_fields: list[CardField]
    missing: list[str]
    metric_floors: dict
    noninferiority_margin: float
    slo_p99_latency_ms: float | None
    slo_min_throughput: float | None


@dataclass
class DatasetRow:  # section 3
    id: int
    name: str
    description: str
    format: str
    sha256: str
    size_bytes: int
    row_count: int
    label_column: str
    columns: Rows[dict]
    created_at: Any
    created_by: str


@dataclass
class ObservationRow:
    observed_at: Any
    window_start: Any
    sample_count: int | None
    metrics: dict
    max_psi: float | None
    below_floor: list
    degradation: float
    verdict: str
    source: str


@dataclass
class Monitoring:  # section 6
    in_production: bool
    production_since: Any
    observations: Rows[ObservationRow]
    summary: dict


@dataclass
class Pack:
    format: str
    generated_at: Any
    generated_by: str
    issuer: str
    max_rows: int
    identification: Identification
    card: ModelCard
    datasets: Rows[DatasetRow]
    validations: Rows[ValidationRow]
    benchmarks: Rows[BenchmarkRow]
    monitoring: Monitoring
    findings: Findings
    approvals: ApprovalChain
    audit: AuditExtract | None  # None: the reader's role does not include the audit log
    mapping: list[mapping.Requirement]
    not_evidenced: list[mapping.Gap]


def build_pack(*, name: str, number: int, user) -> Pack:
    """The pack of ``name`` v``number`` as ``user`` may read it (the views check ``require_view_registry``)."""
    version = selectors.version_get(
        name=name, number=number, related=("model", "model__team", "model__owner", "created_by", "parent")
    )
    # The evidence on these bytes: runs that completed, or that a check stopped with a verdict (cancelled runs and
    # the infrastructure's errors say nothing about the model).
    evidence = (
        Job.objects.filter(version=version, artifact_sha256=version.sha256)
        .filter(Q(status=JobStatus.SUCCEEDED) | Q(verdict__in=Verdict.values))
        .defer("log")
    )
    chain = approval_chain(version)
    return Pack(
        format=FORMAT,
        generated_at=timezone.now(),
        generated_by=user.get_username(),
        issuer=settings.GATEHOUSE_BASE_URL,
        max_rows=max_rows(),
        identification=identification(version),
        card=model_card(version.model),
        datasets=bounded(version.model.datasets.select_related("created_by").order_by("name"), dataset_row),
        validations=bounded(
            evidence.filter(kind=JobKind.VALIDATION)
            .select_related("dataset", "requested_by")
            .order_by("-finished_at", "-pk"),
            validation_row,
        ),
        benchmarks=bounded(
            evidence.filter(kind=JobKind.BENCHMARK).select_related("requested_by").order_by("-finished_at", "-pk"),
            benchmark_row,
        ),
        monitoring=monitoring(version, chain.production_since),
        findings=findings(version),
        approvals=chain,
        audit=audit_extract(version, filename=filename(name, number, "json"))
        if user.has_perm("portal.view_auditevent")
        else None,
        mapping=list(mapping.REQUIREMENTS),
        not_evidenced=list(mapping.GAPS),
    )


def filename(model: str, number: int, extension: str) -> str:
    """The name a download of the pack is saved under (a model's name is lowercase letters, digits, hyphens)."""
    return f"{model}-v{number}-compliance-pack.{extension}"


def as_json(pack: Pack) -> dict:
    """The pack as JSON values: what the API answers and ``pack.json`` holds (its audit events' payloads are
    left exactly as the chain hashes them)."""
    return _plain(asdict(pack))


def _plain(value):
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dt.date):  # datetimes too
        return value.isoformat()
    return value


def identification(version: ModelVersion) -> Identification:
    model = version.model
    files = [{"path": f["path"], "size": f["size"], "sha256": f["sha256"]} for f in version.files]
    return Identification(
        model=model.name,
        description=model.description,
        team=model.team.name,
        owner=model.owner.get_username(),
        risk_tier=model.risk_tier,
        task_type=model.get_task_type_display(),
        version=version.number,
        stage=version.stage,
        sha256=version.sha256,
        digest_of=(
            f"the OpenSSF model-signing root digest over its {len(files)} files"
            if version.is_set
            else "the SHA-256 of its one file"
        ),
        size_bytes=version.size_bytes,
        files=bounded_list(files),
        format=version.get_format_display(),
        ir_version=version.ir_version,
        opsets=version.opsets,
        producer=version.producer,
        inputs=list(version.signature.get("inputs", [])),
        outputs=list(version.signature.get("outputs", [])),
        parent=version.parent.number if version.parent else None,
        source_code_url=version.source_code_url,
        source_commit=version.source_commit,
        training_run_url=version.training_run_url,
        training_data_ref=version.training_data_ref,
        trained_at=version.trained_at,
        signed_by=version.signed_by,
        signing_keyid=version.signing_keyid,
        uploaded_at=version.created_at,
        uploaded_by=version.created_by.get_username(),
        integrity_error=version.integrity_error,
        integrity_checked_at=version.integrity_checked_at,
        offline_metrics=version.metrics,
    )


def model_card(model: RegisteredModel) -> ModelCard:
    def card_field(name: str) -> CardField:
        return CardField(name, str(model._meta.get_field(name).verbose_name).capitalize(), getattr(model, name))

    return ModelCard(
        use_and_limits=[card_field(f) for f in USE_AND_LIMITS],
        other_fields=[card_field(f) for f in MODEL_CARD_FIELDS if f not in USE_AND_LIMITS],
        missing=model.card_missing,
        metric_floors=model.metric_floors,
        noninferiority_margin=model.noninferiority_margin,
        slo_p99_latency_ms=model.slo_p99_latency_ms,
        slo_min_throughput=model.slo_min_throughput,
    )


def dataset_row(dataset) -> DatasetRow:
    return DatasetRow(
        id=dataset.pk,
        name=dataset.name,
        description=dataset.description,
        format=dataset.get_format_display(),
        sha256=dataset.sha256,
        size_bytes=dataset.size_bytes,
        row_count=dataset.row_count,
        label_column=dataset.label_column,
        columns=bounded_list([{"name": c.get("name"), "dtype": c.get("dtype")} for c in dataset.columns]),
        created_at=dataset.created_at,
        created_by=dataset.created_by.get_username(),
    )


def _verdict(degradation: float) -> str:
    return "degraded" if degradation >= 1 else "drifting" if degradation > 0 else "healthy"


def monitoring(version: ModelVersion, production_since) -> Monitoring:
    rows = selectors.observation_list(version=version).defer("histograms", "psi")
    summary = rows.order_by().aggregate(
        observations=Count("pk"),
        first=Min("observed_at"),
        last=Max("observed_at"),
        degraded=Count("pk", filter=Q(degradation__gte=1)),
        drifting=Count("pk", filter=Q(degradation__gt=0, degradation__lt=1)),
        worst_max_psi=Max("max_psi"),
    )
    limit = max_rows()
    observations = Rows(
        [
            ObservationRow(
                observed_at=o.observed_at,
                window_start=o.window_start,
                sample_count=o.sample_count,
                metrics=o.metrics,
                max_psi=o.max_psi,
                below_floor=o.below_floor,
                degradation=o.degradation,
                verdict=_verdict(o.degradation),
                source=o.source or o.reported_by.get_username(),
            )
            for o in rows[:limit]
        ],
        summary["observations"],  # counted with the summary: no second count
    )
    summary["healthy"] = summary["observations"] - summary["degraded"] - summary["drifting"]
    summary["latest_metrics"] = observations.items[0].metrics if observations.items else {}
    summary["floors"] = version.model.metric_floors
    return Monitoring(
        in_production=version.stage == Stage.PRODUCTION,
        production_since=production_since,
        observations=observations,
        summary=summary,
    )
