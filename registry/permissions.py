"""Who may do what in the registry: the one place that decides, used by pages, the API and services.

Rule for editing (README, "Roles"): every signed-in person may read every model; a data scientist may
register models for, edit, and add versions and datasets to the models of teams they are a member of.
Another team's model is read-only to them. Superusers may do anything.

Each ``can_*`` answers a question (for the pages' buttons); each ``require_*`` raises PermissionDenied with
the one sentence that refusal is worded in, wherever it is refused (a page, the API, a service).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied

from portal.core.models import Team
from portal.core.roles import Role, user_roles
from portal.core.selectors import user_team_ids
from registry.models import RegisteredModel


def _is_member(user, team_id: int) -> bool:
    return team_id in user_team_ids(user)


def can_view_registry(user) -> bool:
    return user.is_authenticated and user.has_perm("registry.view_registeredmodel")


def can_register_model(user, team: Team | None = None) -> bool:
    if not user.is_authenticated or not user.has_perm("registry.add_registeredmodel"):
        return False
    return team is None or user.is_superuser or _is_member(user, team.id)


def registrable_teams(user):
    if user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(members=user) if user.has_perm("registry.add_registeredmodel") else Team.objects.none()


def _team_may(user, model: RegisteredModel, perm: str) -> bool:
    """The role grants ``perm`` and the user is a member of the model's team."""
    return user.is_authenticated and user.has_perm(perm) and (user.is_superuser or _is_member(user, model.team_id))


def can_change_model(user, model: RegisteredModel) -> bool:
    return _team_may(user, model, "registry.change_registeredmodel")


def can_add_version(user, model: RegisteredModel) -> bool:
    return _team_may(user, model, "registry.add_modelversion")


def can_add_dataset(user, model: RegisteredModel) -> bool:
    return _team_may(user, model, "registry.add_dataset")


def can_lower_risk_tier(user) -> bool:
    """IT operations and risk reviewers, for any model: a lower tier asks less of every release, so the team
    that builds the model does not lower its own."""
    roles = set(user_roles(user)) if user.is_authenticated else set()
    return user.is_authenticated and (user.is_superuser or bool(roles & {Role.IT_OPERATIONS, Role.RISK_REVIEWER}))


def can_download(user) -> bool:
    return user.is_authenticated and user.has_perm("registry.download_artifact")


def can_run_validation(user, model: RegisteredModel) -> bool:
    return _team_may(user, model, "registry.run_validation")


def can_run_benchmark(user, model: RegisteredModel) -> bool:
    """The model's data scientists, and IT operations for any model (they own the target hardware)."""
    if not user.is_authenticated or not user.has_perm("registry.run_benchmark"):
        return False
    return user.is_superuser or not user.has_perm("registry.run_validation") or _is_member(user, model.team_id)


def can_cancel_job(user, job) -> bool:
    """The person who started it, and IT operations, who run the workers."""
    return user.is_authenticated and (
        user.is_superuser or job.requested_by_id == user.pk or Role.IT_OPERATIONS in user_roles(user)
    )


def can_view_jobs(user) -> bool:
    return user.is_authenticated and user.has_perm("registry.view_job")


def can_report_observation(user, model: RegisteredModel) -> bool:
    """IT operations (they run serving) for any model; data scientists for their own teams' models."""
    if not user.is_authenticated or not user.has_perm("registry.add_observation"):
        return False
    return user.is_superuser or Role.IT_OPERATIONS in user_roles(user) or _is_member(user, model.team_id)


# --- Refusals, each worded once ------------------------------------------------------------------------------


def _require(allowed: bool, message: str | Callable[[], str]) -> None:
    """``message`` may be a function: a refusal naming the model's team reads the team only when refusing."""
    if not allowed:
        raise PermissionDenied(message() if callable(message) else message)


def require_view_registry(user) -> None:
    _require(can_view_registry(user), "Your role does not include the registry.")


def require_register_model(user, team: Team | None = None) -> None:
    if team is None:
        _require(can_register_model(user), "Only data scientists can register models.")
        _require(
            user.is_superuser or bool(user_team_ids(user)),  # read with the user (portal.core.authentication)
            "You are not a member of any team yet; ask an administrator to add you to one.",
        )
    else:
        _require(
            can_register_model(user, team), f"You may register models only for your own teams; you are not in {team}."
        )


def require_change_model(user, model: RegisteredModel) -> None:
    _require(can_change_model(user, model), lambda: f"Only data scientists of {model.team} may change {model.name}.")


def require_add_version(user, model: RegisteredModel) -> None:
    _require(
        can_add_version(user, model), lambda: f"Only data scientists of {model.team} may add versions to {model.name}."
    )


def require_add_dataset(user, model: RegisteredModel) -> None:
    _require(
        can_add_dataset(user, model), lambda: f"Only data scientists of {model.team} may add datasets to {model.name}."
    )


def require_lower_risk_tier(user) -> None:
    _require(can_lower_risk_tier(user), "Only IT operations and risk reviewers lower a model's risk tier.")


def require_download(user) -> None:
    _require(can_download(user), "Your role cannot download artifacts or datasets.")


def require_run_validation(user, model: RegisteredModel) -> None:
    _require(
        can_run_validation(user, model), lambda: f"Only data scientists of {model.team} may validate {model.name}."
    )


def require_run_benchmark(user, model: RegisteredModel) -> None:
    _require(
        can_run_benchmark(user, model),
        lambda: f"Only data scientists of {model.team} and IT operations may benchmark {model.name}.",
    )


def require_start_jobs(user) -> None:
    _require(
        user.is_authenticated and (user.has_perm("registry.run_validation") or user.has_perm("registry.run_benchmark")),
        "Your role cannot start evidence jobs: data scientists and IT operations do.",
    )


def require_cancel_job(user, job) -> None:
    _require(can_cancel_job(user, job), "Only the person who started the job, or IT operations, may cancel it.")


def require_view_jobs(user) -> None:
    _require(can_view_jobs(user), "Your role cannot see evidence jobs.")


def require_report_observation(user, model: RegisteredModel) -> None:
    _require(
        can_report_observation(user, model),
        lambda: f"Only IT operations and data scientists of {model.team} may report observations for {model.name}.",
    )
