"""Writes owned by the kernel: the audit log, teams and API tokens."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from portal.core import keys
from portal.core.audit import GENESIS_HASH, check_action, event_hash, event_payload
from portal.core.choices import AuditAction
from portal.core.models import AuditCheckpoint, AuditEvent, Team
from portal.core.request_context import current_request_context
from portal.core.roles import Role
from portal.core.signals import audit_checkpointed

# Any constant works: it names the one advisory lock that serialises appends to the chain on PostgreSQL.
_AUDIT_LOCK_KEY = 0x6A7E_A0D1
CHECKPOINT_TYPE = "https://gatehouse.dev/audit-checkpoint/v1"
CHECKPOINT_PAYLOAD_TYPE = "application/vnd.gatehouse.audit-checkpoint+json"
checkpoint_log = logging.getLogger("gatehouse.audit.checkpoint")
_HEAD_SQL = 'SELECT "hash", "seq" FROM {table} ORDER BY "seq" DESC LIMIT 1'


def audit_event_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    obj: Any,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the transaction of the change it records; ``action``
    must be one of the actions the apps declare (their ``AuditAction`` choices), so a typo fails loudly."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_event_record must be called inside the transaction of the change")
    check_action(action)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
        # On SQLite the IMMEDIATE transaction already holds the database's write lock. The head is read by a
        # fixed statement after the lock (its own snapshot), not built by the ORM on every change (§9).
        cursor.execute(_HEAD_SQL.format(table=connection.ops.quote_name(AuditEvent._meta.db_table)))
        last_hash, last_seq = cursor.fetchone() or (None, 0)
    context = current_request_context()
    signed_in = actor is not None and actor.is_authenticated
    event = AuditEvent(
        created_at=timezone.now(),
        actor=actor if signed_in else None,
        actor_username=actor.get_username() if signed_in else "",
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:300],
        before=before,
        after=after,
        request_id=context.request_id if context else "",
        ip=context.ip if context else None,
        prev_hash=last_hash or GENESIS_HASH,
        seq=last_seq + 1,  # under the lock: the next place, whatever ids a rolled-back transaction used
    )
    event.hash = event_hash(event.prev_hash, event_payload(event))
    event.save(force_insert=True)
    return event


def audit_checkpoint_sign(*, reason: str) -> AuditCheckpoint | None:
    """Sign the chain's head (its last event's place and hash) and publish it: kept in its own table, written
    to the log, and announced for the webhooks (portal.core.signals.audit_checkpointed). Nothing is signed
    when no event was added since the last checkpoint."""
    with transaction.atomic():
        head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        if head is None or AuditCheckpoint.objects.filter(seq__gte=head[0]).exists():
            return None
        seq, head_hash = head
        payload = {
            "_type": CHECKPOINT_TYPE,
            "log": settings.GATEHOUSE_BASE_URL,
            "seq": seq,
            "hash": head_hash,
            "signedAt": timezone.now().isoformat().replace("+00:00", "Z"),
        }
        envelope = keys.sign(payload, CHECKPOINT_PAYLOAD_TYPE)
        checkpoint = AuditCheckpoint.objects.create(
            seq=seq,
            head_hash=head_hash,
            reason=reason[:40],
            keyid=envelope["signatures"][0]["keyid"],
            envelope=envelope,
        )

        def publish() -> None:
            checkpoint_log.info("audit checkpoint %s", json.dumps(envelope, separators=(",", ":")))
            audit_checkpointed.send(
                sender=AuditCheckpoint, checkpoint_id=checkpoint.pk, seq=seq, head_hash=head_hash, envelope=envelope
            )

        transaction.on_commit(publish)
    return checkpoint


def _members(team: Team) -> list[str]:
    return sorted(team.members.values_list("username", flat=True))


@transaction.atomic
def team_create(
    *, name: str, actor: AbstractBaseUser | None, members: list | None = None, slug: str | None = None
) -> Team:
    team = Team(name=name, slug=slug or slugify(name))
    team.full_clean()
    team.save()
    if members:
        team.members.add(*members)
    audit_event_record(
        actor=actor,
        action=AuditAction.TEAM_CREATED,
        obj=team,
        after={"name": team.name, "slug": team.slug, "members": _members(team)},
    )
    return team


@transaction.atomic
def team_update(
    *,
    team: Team,
    actor: AbstractBaseUser | None,
    name: str | None = None,
    slug: str | None = None,
    members: list | None = None,
) -> Team:
    """Rename a team or set its members (the team rule rests on membership: every change is audited)."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    before = {"name": team.name, "slug": team.slug, "members": _members(team)}
    team.name = team.name if name is None else name
    team.slug = team.slug if slug is None else slug
    team.full_clean()
    team.save()
    if members is not None:
        team.members.set(members)
    after = {"name": team.name, "slug": team.slug, "members": _members(team)}
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        audit_event_record(
            actor=actor,
            action=AuditAction.TEAM_UPDATED,
            obj=team,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    return team


@transaction.atomic
def user_roles_sync(*, user: AbstractBaseUser, roles: set[str], source: str) -> bool:
    """Give ``user`` exactly these roles, as an identity provider says (groups that are not roles are left
    alone); audited when they change. Administrators' edits in the Django admin are audited there."""
    current = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
    if roles == current:
        return False
    user.groups.remove(*Group.objects.filter(name__in=current - roles))
    user.groups.add(*Group.objects.filter(name__in=roles - current))
    audit_event_record(
        actor=None,
        action=AuditAction.USER_ROLES_SYNCED,
        obj=user,
        before={"roles": sorted(current)},
        after={"roles": sorted(roles), "source": source},
    )
    return True


@transaction.atomic
def api_token_rotate(*, user: AbstractBaseUser) -> Token:
    """Replace the user's API token; the old one stops working at once."""
    had_token = Token.objects.filter(user=user).delete()[0] > 0
    token = Token.objects.create(user=user)
    audit_event_record(
        actor=user,
        action=AuditAction.TOKEN_ROTATED if had_token else AuditAction.TOKEN_CREATED,
        obj=user,
        after={"token_prefix": token.key[:6]},
    )
    return token
