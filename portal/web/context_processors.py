from imports.permissions import can_start_import
from portal.core.roles import role_labels


def navigation(request):
    """What the navigation shows: only the places the signed-in user's role may use."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    return {
        "nav": {
            "roles": role_labels(user),
            "registry": user.has_perm("registry.view_registeredmodel"),
            "register": user.has_perm("registry.add_registeredmodel"),
            "audit": user.has_perm("portal.view_auditevent"),
            "jobs": user.has_perm("registry.view_job"),
            "debt": user.has_perm("portal.view_debtsnapshot"),
            "imports": can_start_import(user),  # the roles are read once per request (cached on the user)
            "admin": user.is_staff,
        }
    }
