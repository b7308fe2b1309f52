"""OIDC_ROLE_MAP parsing, free of Django imports so the settings module can use it."""

from __future__ import annotations

ROLES = ("data-scientists", "it-operations", "risk-reviewers", "managers")  # portal.core.roles.Role values


def parse_role_map(text: str) -> dict[str, str]:
    """ "a=data-scientists,b=managers" → {"a": "data-scientists", "b": "managers"}; unknown roles refused."""
    mapping = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        group, sep, role = item.partition("=")
        if not sep or not group.strip() or role.strip() not in ROLES:
            raise ValueError(
                f"OIDC_ROLE_MAP item {item!r} must be provider-group=role, the role one of {', '.join(ROLES)}"
            )
        mapping[group.strip()] = role.strip()
    return mapping
