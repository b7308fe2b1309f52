"""Writes owned by the portal app: the audit log, teams and API tokens."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from portal.audit import GENESIS_HASH, event_hash, event_payload
from portal.middleware import current_request_context
from portal.models import AuditEvent, Team

# Any constant works: it names the one advisory lock that serialises appends to the chain on PostgreSQL.
_AUDIT_LOCK_KEY = 0x6A7E_A0D1


def audit_event_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    obj: Any,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the transaction of the change it records."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_event_record must be called inside the transaction of the change")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
    # On SQLite the IMMEDIATE transaction already holds the database's write lock.
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    context = current_request_context()
    event = AuditEvent(
        created_at=timezone.now(),
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_username=actor.get_username() if actor is not None and actor.is_authenticated else "",
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:300],
        before=before,
        after=after,
        request_id=context.request_id if context else "",
        ip=context.ip if context else None,
        prev_hash=last or GENESIS_HASH,
    )
    event.hash = event_hash(event.prev_hash, event_payload(event))
    event.save(force_insert=True)
    return event


@transaction.atomic
def team_create(*, name: str, actor: AbstractBaseUser | None, members: list | None = None) -> Team:
    team = Team(name=name, slug=slugify(name))
    team.full_clean()
    team.save()
    if members:
        team.members.add(*members)
    audit_event_record(
        actor=actor,
        action="portal.team.created",
        obj=team,
        after={"name": team.name, "members": sorted(m.get_username() for m in members or [])},
    )
    return team


@transaction.atomic
def api_token_rotate(*, user: AbstractBaseUser) -> Token:
    """Replace the user's API token; the old one stops working at once."""
    had_token = Token.objects.filter(user=user).delete()[0] > 0
    token = Token.objects.create(user=user)
    audit_event_record(
        actor=user,
        action="portal.token.rotated" if had_token else "portal.token.created",
        obj=user,
        after={"token_prefix": token.key[:6]},
    )
    return token
