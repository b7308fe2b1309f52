"""Writes to the registry's models: register, update (card, thresholds, tags), and the flow milestones."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.text import slugify

from portal.core.errors import ApplicationError
from portal.core.models import Team
from portal.core.services import audit_event_record
from registry import permissions, signals
from registry.choices import AuditAction, RiskTier, Stage
from registry.models import MODEL_CARD_FIELDS, RegisteredModel, Tag
from registry.services.job_parameters import floors_check

EDITABLE_MODEL_FIELDS = (
    "description",
    "risk_tier",
    "task_type",
    "refresh_interval_days",
    "owner",
    "metric_floors",
    "noninferiority_margin",
    "slo_p99_latency_ms",
    "slo_min_throughput",
    *MODEL_CARD_FIELDS,
)

# Names that would collide with the portal's own paths under /models/.
RESERVED_MODEL_NAMES = frozenset({"new"})


def _snapshot(model: RegisteredModel) -> dict[str, Any]:
    data = {field: getattr(model, field) for field in EDITABLE_MODEL_FIELDS if field != "owner"}
    data["owner"] = model.owner.get_username()
    data["team"] = model.team.slug
    return data


TAG_MAX_LENGTH = Tag._meta.get_field("name").max_length


def tag_names(tags: list[str]) -> list[str]:
    """The tags as slugs, refused past GATEHOUSE_MAX_TAGS or the length a tag may have."""
    names = sorted({slugify(t) for t in tags if slugify(t)})
    if len(names) > settings.GATEHOUSE_MAX_TAGS:
        raise ApplicationError(
            f"{len(names):,} tags; a model has at most {settings.GATEHOUSE_MAX_TAGS} (GATEHOUSE_MAX_TAGS).",
            field="tags",
        )
    long = next((n for n in names if len(n) > TAG_MAX_LENGTH), None)
    if long:
        raise ApplicationError(
            f"The tag '{long[:30]}…' is {len(long)} characters; a tag has at most {TAG_MAX_LENGTH}.", field="tags"
        )
    return names


def _tags_set(model: RegisteredModel, tags: list[str], *, new: bool = False) -> list[str]:
    names = tag_names(tags)
    objs = [] if new and not names else [Tag.objects.get_or_create(name=name)[0] for name in names]
    if objs or not new:  # a new model has no tags to clear
        model.tags.set(objs)
    # The model's tags are these now, in Tag's order (by name, as sorted): whoever shows the model next (the
    # API's answer) reads them from here, as if prefetched, not from the database again.
    model._prefetched_objects_cache = {
        k: v for k, v in getattr(model, "_prefetched_objects_cache", {}).items() if k != "tags"
    }
    known = model.tags.all()  # the relation's own query: anything chained onto it reads the database as usual
    known._result_cache, known._prefetch_done = objs, True
    model._prefetched_objects_cache["tags"] = known
    return names


# Related rows the service has just read: full_clean need not query for them again. The database's own
# constraints (unique name, one production version, positive numbers) stand behind every save.
FETCHED_RELATIONS = ["team", "owner", "created_by", "model", "parent"]


@transaction.atomic
def registered_model_create(
    *,
    actor: AbstractBaseUser,
    name: str,
    team: Team,
    task_type: str,
    risk_tier: str,
    owner: AbstractBaseUser | None = None,
    tags: list[str] | None = None,
    **card: Any,
) -> RegisteredModel:
    permissions.require_register_model(actor, team)
    unknown = set(card) - set(EDITABLE_MODEL_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    tag_names(tags or [])  # refused before anything is written
    if name in RESERVED_MODEL_NAMES:
        raise ApplicationError(f"'{name}' is reserved by the portal's URLs; choose another name.", field="name")
    if "metric_floors" in card:
        card["metric_floors"] = floors_check(card["metric_floors"], task_type)
    model = RegisteredModel(
        name=name,
        team=team,
        owner=owner or actor,
        task_type=task_type,
        risk_tier=risk_tier,
        created_by=actor,
        **card,
    )
    model.full_clean(exclude=FETCHED_RELATIONS)  # the unique name is checked here, for its friendly message
    model.save()
    after = _snapshot(model)
    after["tags"] = _tags_set(model, tags or [], new=True)
    audit_event_record(actor=actor, action=AuditAction.MODEL_CREATED, obj=model, after=after)
    return model


@transaction.atomic
def registered_model_update(
    *, actor: AbstractBaseUser, model: RegisteredModel, tags: list[str] | None = None, **changes: Any
) -> RegisteredModel:
    model = RegisteredModel.objects.select_for_update().select_related("team", "owner").get(pk=model.pk)
    permissions.require_change_model(actor, model)
    unknown = set(changes) - set(EDITABLE_MODEL_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    if "risk_tier" in changes and tier_rank(changes["risk_tier"]) < tier_rank(model.risk_tier):
        raise ApplicationError(
            f"Lowering the risk tier ({model.risk_tier} → {changes['risk_tier']}) lowers what every release of "
            f"{model.name} must show, so IT operations or a risk reviewer does it, on the model's page, with a "
            "reason. Raising it is yours.",
            field="risk_tier",
        )
    before = _snapshot(model)
    before["tags"] = sorted(model.tags.values_list("name", flat=True))
    if "metric_floors" in changes or "task_type" in changes:
        changes["metric_floors"] = floors_check(
            changes.get("metric_floors", model.metric_floors), changes.get("task_type", model.task_type)
        )
    for field, value in changes.items():
        setattr(model, field, value)
    model.full_clean()
    model.save()
    after = _snapshot(model)
    after["tags"] = _tags_set(model, tags) if tags is not None else before["tags"]
    changed = {k for k in after if after[k] != before[k]}
    if changed:
        audit_event_record(
            actor=actor,
            action=AuditAction.MODEL_UPDATED,
            obj=model,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
        # A completed card or a new SLO may be the evidence a waiting request needs (approvals listens).
        transaction.on_commit(
            lambda: signals.model_changed.send(sender=RegisteredModel, model_id=model.pk, changed=frozenset(changed))
        )
    return model


def tier_rank(tier: str) -> int:
    """low 0 … critical 3; an unknown tier ranks highest, so it is never taken for a lowering."""
    return RiskTier.values.index(tier) if tier in RiskTier.values else len(RiskTier.values)


@transaction.atomic
def risk_tier_lower(*, actor: AbstractBaseUser, model: RegisteredModel, risk_tier: str, reason: str) -> RegisteredModel:
    """Lower a model's risk tier: IT operations' or a risk reviewer's decision, never the model team's own
    (a lower tier asks less of every release). Requests already open keep the policy they were opened under."""
    permissions.require_lower_risk_tier(actor)
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    if risk_tier not in RiskTier.values or tier_rank(risk_tier) >= tier_rank(model.risk_tier):
        lower = ", ".join(RiskTier.values[: tier_rank(model.risk_tier)]) or "none: it is already low"
        raise ApplicationError(f"Choose a tier below {model.risk_tier} ({lower}).", field="risk_tier")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ApplicationError("Say why the model's risk is lower now, in a sentence or more.", field="reason")
    before = model.risk_tier
    model.risk_tier = risk_tier
    model.save(update_fields=["risk_tier", "updated_at"])
    audit_event_record(
        actor=actor,
        action=AuditAction.MODEL_UPDATED,
        obj=model,
        before={"risk_tier": before},
        after={"risk_tier": risk_tier, "reason": reason},
    )
    transaction.on_commit(
        lambda: signals.model_changed.send(sender=RegisteredModel, model_id=model.pk, changed=frozenset({"risk_tier"}))
    )
    return model


def model_milestone_record(*, model_id: int, stage: str, at: dt.datetime) -> None:
    """A model's first version in ``stage`` (test or production): a flow milestone the dashboard reads, kept
    on the model's row as it happens (and rebuilt from the history by approvals.milestones)."""
    if stage in (Stage.TEST, Stage.PRODUCTION):
        RegisteredModel.objects.filter(pk=model_id, **{f"first_{stage}_at__isnull": True}).update(
            **{f"first_{stage}_at": at}
        )
