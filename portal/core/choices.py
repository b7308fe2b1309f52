from django.db import models


class AuditAction(models.TextChoices):
    """What the kernel records in the audit log (each app declares its own; portal.core.audit)."""

    TEAM_CREATED = "portal.team.created", "Team created"
    TEAM_UPDATED = "portal.team.updated", "Team changed"
    TOKEN_CREATED = "portal.token.created", "API token created"
    TOKEN_ROTATED = "portal.token.rotated", "API token rotated"
    USER_ROLES_SYNCED = "portal.user.roles_synced", "Roles set by single sign-on"
    SIGN_IN_LOCKED_OUT = "portal.user.locked_out", "Sign-in paused after failed passwords"
    ADMIN_CREATED = "portal.admin.created", "Created in the Django admin"
    ADMIN_CHANGED = "portal.admin.changed", "Changed in the Django admin"
    ADMIN_DELETED = "portal.admin.deleted", "Deleted in the Django admin"
