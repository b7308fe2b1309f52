"""Signed approvals: when a transition applies, an in-toto Statement about the artifact's digest, saying what
was approved, by whom, on what evidence and under which policy, is signed as a DSSE envelope with the
settings' key (portal.core.keys). Deployment tooling verifies it offline (portal/core/dsse.py)."""

from __future__ import annotations

import base64
import hashlib

from django.conf import settings

from approvals.choices import AuditAction, DecisionKind
from approvals.models import Attestation, PromotionRequest
from portal.core import dsse, keys
from portal.core.models import AuditEvent
from portal.core.services import audit_event_record
from registry.models import ModelVersion

PREDICATE_TYPE = "https://gatehouse.dev/attestation/release/v1"


def _at(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def release_statement(
    *, request: PromotionRequest, version: ModelVersion, event: AuditEvent, evidence: list, actor
) -> dict:
    """The statement: its subject is the artifact (its SHA-256, for a set the model-signing root digest)."""
    model = version.model
    approvals = [
        {"person": d.person.get_username(), "role": d.role, "at": _at(d.created_at)}
        for d in request.decisions.filter(decision=DecisionKind.APPROVE)
        .select_related("person")
        .order_by("created_at", "pk")
    ]
    return {
        "_type": dsse.STATEMENT_TYPE,
        "subject": [{"name": f"{model.name}/v{version.number}", "digest": {"sha256": version.sha256}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "issuer": settings.GATEHOUSE_BASE_URL,
            "model": model.name,
            "version": version.number,
            "riskTier": model.risk_tier,
            "transition": {"action": request.action, "from": request.from_stage, "to": request.to_stage},
            "stage": request.to_stage,
            "appliedAt": _at(event.created_at),
            # None when the request applied itself as its last evidence arrived.
            "appliedBy": actor.get_username() if actor is not None else None,
            "request": {
                "id": request.pk,
                "requester": request.requester.get_username(),
                "openedAt": _at(request.created_at),
                "justification": request.justification,
            },
            "policy": request.policy,
            "approvals": approvals,
            "evidence": [
                {
                    "requirement": item.key,
                    "satisfied": item.satisfied,
                    **(
                        {
                            "job": item.job.pk,
                            "kind": item.job.kind,
                            "verdict": item.job.verdict,
                            "artifactSha256": item.job.artifact_sha256,
                        }
                        if item.job is not None
                        else {}
                    ),
                }
                for item in evidence
            ],
            "files": [{k: f[k] for k in ("path", "size", "sha256")} for f in version.files],
            "auditEvent": {"id": event.pk, "hash": event.hash},
        },
    }


def attestation_issue(
    *, request: PromotionRequest, version: ModelVersion, event: AuditEvent, evidence: list, actor
) -> Attestation:
    """Sign the statement and keep the envelope. Runs inside the transaction that applied the request: a
    transition that rolls back leaves no attestation, and none applies without one."""
    statement = release_statement(request=request, version=version, event=event, evidence=evidence, actor=actor)
    envelope = keys.sign(statement)
    payload = base64.b64decode(envelope["payload"])
    attestation = Attestation.objects.create(
        version=version,
        request=request,
        stage=request.to_stage,
        subject_sha256=version.sha256,
        statement_sha256=hashlib.sha256(payload).hexdigest(),
        keyid=envelope["signatures"][0]["keyid"],
        envelope=envelope,
    )
    audit_event_record(
        actor=actor,
        action=AuditAction.ATTESTATION_ISSUED,
        obj=attestation,
        after={
            "version": str(version),
            "stage": attestation.stage,
            "subject_sha256": attestation.subject_sha256,
            "statement_sha256": attestation.statement_sha256,
            "keyid": attestation.keyid,
        },
    )
    return attestation
