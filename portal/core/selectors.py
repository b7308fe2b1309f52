from __future__ import annotations

from django.db.models import QuerySet

from portal.core.models import AuditEvent, Team

TEAM_IDS = "_gatehouse_team_ids"  # the cache on the user object, filled by the API's token check too


def user_team_ids(user) -> set[int]:
    """The ids of the teams ``user`` belongs to, read once per request and kept on the user object."""
    cached = getattr(user, TEAM_IDS, None)
    if cached is None:
        cached = set(Team.members.through.objects.filter(user_id=user.pk).values_list("team_id", flat=True))
        setattr(user, TEAM_IDS, cached)
    return cached


def audit_event_list() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.order_by("-id")
