"""The pack's audit extract (section 9): the events of the audit chain about the version, its model, its
requests, findings, jobs, attestations, observations and its model's datasets, each with the payload the chain hashes
(portal.core.audit.event_payload), its place, its hash and the previous hash, and the signed checkpoints
that cover them. ``manage.py audit_verify --extract pack.json`` recomputes every hash from its payload and
checks it against the chain and the checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, Q
from django.db.models.functions import Cast

from approvals.models import Attestation, Finding, PromotionRequest
from portal.compliance.rows import Rows, max_rows
from portal.core.audit import AUDIT_EXTRACT_FORMAT, action_label, event_payload
from portal.core.models import AuditCheckpoint, AuditEvent
from registry.models import Dataset, Job, ModelVersion, Observation, RegisteredModel

VERIFY_COMMAND = "python manage.py audit_verify --extract {filename}"


@dataclass
class AuditRow:
    seq: int
    created_at: Any
    action: str
    label: str
    actor: str
    object_type: str
    object_id: str
    object_repr: str
    hash: str
    prev_hash: str
    payload: dict  # exactly what the chain hashes: hash = SHA-256(prev_hash + canonical JSON of payload)


@dataclass
class CheckpointRow:
    seq: int
    hash: str
    reason: str
    keyid: str
    created_at: Any
    envelope: dict


@dataclass
class AuditExtract:
    format: str
    about: list[str]
    events: Rows[AuditRow]
    gap_after_seq: int | None  # over the limit: the oldest and the newest events are kept, those between left out
    checkpoints: list[CheckpointRow]
    covered_by: int | None  # the place of the first signed checkpoint at or after the last event shown
    verify: str


def _keys(queryset) -> Any:
    """The ids of ``queryset`` as the audit table keeps them (text), for a subquery."""
    return queryset.order_by().annotate(key=Cast("pk", output_field=CharField())).values("key")


def _about(version: ModelVersion) -> tuple[Q, list[str]]:
    def label(model) -> str:
        return model._meta.label_lower

    objects = [
        (
            Q(object_type=label(ModelVersion), object_id=str(version.pk)),
            f"this version ({label(ModelVersion)} {version.pk})",
        ),
        (
            Q(object_type=label(RegisteredModel), object_id=str(version.model_id)),
            f"its model ({label(RegisteredModel)} {version.model_id})",
        ),
    ]
    for model, rows, what in (
        (PromotionRequest, PromotionRequest.objects.filter(version=version), "its requests"),
        (Finding, Finding.objects.filter(version=version), "its findings"),
        (Job, Job.objects.filter(version=version), "its jobs"),
        (Attestation, Attestation.objects.filter(version=version), "its attestations"),
        (Dataset, Dataset.objects.filter(model_id=version.model_id), "its model's datasets"),
        (Observation, Observation.objects.filter(version=version), "what production reported on it"),
    ):
        objects.append((Q(object_type=label(model), object_id__in=_keys(rows)), f"{what} ({label(model)})"))
    query = Q()
    for q, _ in objects:
        query |= q
    return query, [text for _, text in objects]


def _row(event: AuditEvent) -> AuditRow:
    return AuditRow(
        seq=event.seq,
        created_at=event.created_at,
        action=event.action,
        label=action_label(event.action),
        actor=event.actor_username or "system",
        object_type=event.object_type,
        object_id=event.object_id,
        object_repr=event.object_repr,
        hash=event.hash,
        prev_hash=event.prev_hash,
        payload=event_payload(event),
    )


def _events(query: Q) -> tuple[list[AuditEvent], int, int | None]:
    """The oldest half and the newest half of the events when there are more than the limit: the story of the
    version's release and where it stands now, with the count of those between."""
    events = AuditEvent.objects.filter(query)
    limit = max_rows()
    head = list(events.order_by("seq")[:limit])
    if len(head) < limit:
        return head, len(head), None
    total = events.order_by().count()
    if total <= limit:
        return head, total, None
    first = head[: (limit + 1) // 2]
    last = list(events.order_by("-seq")[: limit - len(first)])
    return first + last[::-1], total, first[-1].seq


def _checkpoint(c: AuditCheckpoint) -> CheckpointRow:
    return CheckpointRow(c.seq, c.head_hash, c.reason, c.keyid, c.created_at, c.envelope)


def audit_extract(version: ModelVersion, *, filename: str = "pack.json") -> AuditExtract:
    query, about = _about(version)
    events, total, gap = _events(query)
    checkpoints, covered_by = [], None
    if events:
        last = events[-1].seq
        covering = AuditCheckpoint.objects.filter(seq__gte=last).order_by("seq", "pk").first()
        newest = AuditCheckpoint.objects.order_by("-seq", "-pk").first()
        checkpoints = [_checkpoint(c) for c in dict.fromkeys(c for c in (covering, newest) if c is not None)]
        covered_by = covering.seq if covering else None
    return AuditExtract(
        format=AUDIT_EXTRACT_FORMAT,
        about=about,
        events=Rows([_row(e) for e in events], total),
        gap_after_seq=gap,
        checkpoints=checkpoints,
        covered_by=covered_by,
        verify=VERIFY_COMMAND.format(filename=filename),
    )
