"""Writes of policies: what each transition needs per risk tier. Edited by administrators (the Django admin);
each change is audited, and requests already open keep the snapshot they were opened under."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from approvals.choices import AuditAction
from approvals.models import Policy
from portal.core.services import audit_event_record

POLICY_FIELDS = ("risk_tier", "transition", "evidence", "approvals", "owner_may_approve", "blocking_findings")


def _values(policy: Policy) -> dict:
    return {name: getattr(policy, name) for name in POLICY_FIELDS}


@transaction.atomic
def policy_save(*, actor: AbstractBaseUser, policy: Policy) -> Policy:
    """Create ``policy`` or store its edited fields, validated by Policy.clean (whole counts of known roles)."""
    before = None
    if policy.pk is not None:
        stored = Policy.objects.select_for_update().filter(pk=policy.pk).first()
        before = _values(stored) if stored else None
    policy.full_clean()
    policy.save()
    after = _values(policy)
    if before is None:
        audit_event_record(actor=actor, action=AuditAction.POLICY_CREATED, obj=policy, after=after)
        return policy
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        audit_event_record(
            actor=actor,
            action=AuditAction.POLICY_UPDATED,
            obj=policy,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    return policy
