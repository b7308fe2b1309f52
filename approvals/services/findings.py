"""Findings: what reviewers found about a version, tracked until it is verified fixed or its risk accepted.

The state table is data (``FINDING_TRANSITIONS``); each change locks the model's row first, as every release
service does, so a finding opened while a request applies is either before it (and blocks it) or after it.
Verifying or accepting a finding re-checks the version's open request: it may have been waiting only on this.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from approvals import finding_rules, notify, signals
from approvals.choices import AuditAction, Severity
from approvals.finding_rules import (
    DUE_DAYS,
    EDITABLE,
    FINDING_TRANSITIONS,
    MIN_COMMENT,
    REVIEWERS,
    can_comment,
    can_edit_finding,
    can_open_finding,
)
from approvals.models import Finding, FindingComment, PromotionRequest
from approvals.services.transitions import lock_model_of, promotion_requests_recheck
from portal.core.errors import ApplicationError
from portal.core.services import audit_event_record
from registry.models import ModelVersion

# --- writes ------------------------------------------------------------------------------------------------


def _clean_text(value: str, *, field: str, label: str, minimum: int = 1, maximum: int | None = None) -> str:
    value = (value or "").strip()
    # A field's own length (the title's column), or the setting for the long texts, named in the refusal.
    setting = "" if maximum else " (GATEHOUSE_FINDING_TEXT_MAX_CHARS)"
    maximum = maximum or settings.GATEHOUSE_FINDING_TEXT_MAX_CHARS
    if len(value) < minimum:
        raise ApplicationError(
            f"Write {label}" + (f" (at least {minimum} characters)." if minimum > 1 else "."), field=field
        )
    if len(value) > maximum:
        raise ApplicationError(f"Keep {label} under {maximum:,} characters{setting}.", field=field)
    return value


def _clean_owner(owner) -> AbstractBaseUser:
    if owner is None:
        raise ApplicationError("Name the person who must remediate it.", field="owner")
    if not owner.is_active:
        raise ApplicationError(
            f"{owner.get_username()}'s account is not active: choose someone who can act.", field="owner"
        )
    return owner


def _clean_due(due: dt.date | None, *, was: dt.date | None = None) -> dt.date:
    if due is None:
        raise ApplicationError("Give a due date.", field="due_date")
    if due < timezone.localdate() and due != was:
        raise ApplicationError("The due date is in the past: give today or a later day.", field="due_date")
    return due


def _snapshot(finding: Finding) -> dict:
    return {
        "version": str(finding.version),
        "title": finding.title,
        "severity": finding.severity,
        "owner": finding.owner.get_username(),
        "due_date": finding.due_date.isoformat(),
        "status": finding.status,
    }


def finding_payload(finding: Finding, *, actor=None) -> dict:
    return {
        "id": finding.pk,
        "model": finding.version.model.name,
        "version": finding.version.number,
        "artifact_sha256": finding.version.sha256,
        "title": finding.title,
        "severity": finding.severity,
        "status": finding.status,
        "owner": finding.owner.get_username(),
        "due_date": finding.due_date.isoformat(),
        "request": finding.request_id,
        "actor": actor.get_username() if actor else None,
        "url": finding_url(finding),
    }


def finding_url(finding: Finding) -> str:
    return f"{settings.GATEHOUSE_BASE_URL}{finding.get_absolute_url()}"


def _announce(finding: Finding) -> None:
    model_id = finding.version.model_id
    transaction.on_commit(
        lambda: signals.finding_changed.send(sender=Finding, finding_id=finding.pk, model_id=model_id)
    )


def _mail(finding: Finding, *, subject: str, body: str, users, actor) -> None:
    notify.email_people(
        subject=f"[Gatehouse] Finding #{finding.pk} on {finding.version}: {subject}",
        message=(
            f"{body}\n\n"
            f"Finding: {finding.title}\nSeverity: {finding.get_severity_display()}\n"
            f"Status: {finding.get_status_display()}\nOwner: {finding.owner.get_username()}\n"
            f"Due: {finding.due_date:%Y-%m-%d}\n\n{finding_url(finding)}\n"
        ),
        users=[u for u in users if u is not None and u.pk != getattr(actor, "pk", None)],
    )


@transaction.atomic
def finding_open(
    *,
    actor: AbstractBaseUser,
    version: ModelVersion,
    title: str,
    severity: str,
    description: str,
    owner: AbstractBaseUser | None = None,
    due_date: dt.date | None = None,
    request: PromotionRequest | None = None,
) -> Finding:
    """Record a finding on ``version`` (and the request under review, if given). The owner defaults to the
    model's owner, the due date to ``DUE_DAYS`` of the severity."""
    lock_model_of(version)
    version = ModelVersion.objects.select_related("model").get(pk=version.pk)
    if not can_open_finding(actor, version):
        raise PermissionDenied(
            f"Your role cannot open findings on {version.model.name}: IT operations, risk reviewers and the "
            "model's team do."
        )
    if request is not None and request.version_id != version.pk:
        raise ApplicationError(f"Request #{request.pk} is about another version than {version}.", field="request")
    if severity not in Severity.values:
        raise ApplicationError(f"Choose a severity: {', '.join(Severity.values)}.", field="severity")
    finding = Finding(
        version=version,
        request=request,
        title=_clean_text(title, field="title", label="a title", minimum=5, maximum=200),
        severity=severity,
        description=_clean_text(description, field="description", label="what was found", minimum=10),
        owner=_clean_owner(owner or version.model.owner),
        due_date=_clean_due(due_date or timezone.localdate() + dt.timedelta(days=DUE_DAYS[severity])),
        raised_by=actor,
    )
    finding.save()
    audit_event_record(actor=actor, action=AuditAction.FINDING_OPENED, obj=finding, after=_snapshot(finding))
    _announce(finding)
    notify.emit("finding.opened", finding_payload(finding, actor=actor))
    _mail(
        finding,
        subject=f"{finding.get_severity_display().lower()} finding for you to remediate",
        body=(
            f"{actor.get_username()} opened a {finding.get_severity_display().lower()} finding on {version} and "
            f"named you its owner. Remediate it by {finding.due_date:%Y-%m-%d}, then mark it remediated so a "
            f"reviewer can verify it.\n\nWhat was found:\n{finding.description}"
        ),
        users=[finding.owner],
        actor=actor,
    )
    return finding


def _locked(finding: Finding) -> Finding:
    lock_model_of(ModelVersion(pk=finding.version_id))
    return (
        Finding.objects.select_for_update(of=("self",))
        .select_related("version", "version__model", "owner", "raised_by")
        .get(pk=finding.pk)
    )


@transaction.atomic
def finding_update(*, actor: AbstractBaseUser, finding: Finding, **changes) -> Finding:
    """Edit the title, severity, description, owner or due date of an unresolved finding."""
    finding = _locked(finding)
    if not can_edit_finding(actor, finding):
        raise PermissionDenied(
            "Only reviewers and the person who raised it edit a finding, and only while it is unresolved."
        )
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ApplicationError(f"These cannot be edited: {', '.join(sorted(unknown))}.")
    before, old_description = _snapshot(finding), finding.description
    if "title" in changes:
        finding.title = _clean_text(changes["title"], field="title", label="a title", minimum=5, maximum=200)
    if "severity" in changes:
        if changes["severity"] not in Severity.values:
            raise ApplicationError(f"Choose a severity: {', '.join(Severity.values)}.", field="severity")
        finding.severity = changes["severity"]
    if "description" in changes:
        finding.description = _clean_text(
            changes["description"], field="description", label="what was found", minimum=10
        )
    if "owner" in changes:
        finding.owner = _clean_owner(changes["owner"])
    if "due_date" in changes:
        finding.due_date = _clean_due(changes["due_date"], was=finding.due_date)
    after = _snapshot(finding)
    changed = [k for k in after if after[k] != before[k]]
    description_changed = finding.description != old_description
    if not changed and not description_changed:
        return finding
    finding.save()
    audit_event_record(
        actor=actor,
        action=AuditAction.FINDING_UPDATED,
        obj=finding,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed} | ({"description": finding.description} if description_changed else {}),
    )
    _announce(finding)
    if "owner" in changed:
        _mail(
            finding,
            subject="you are now its owner",
            body=f"{actor.get_username()} made you the owner of this finding; it is due {finding.due_date:%Y-%m-%d}.",
            users=[finding.owner],
            actor=actor,
        )
    # A lowered severity may no longer block the version's open request.
    promotion_requests_recheck(version_id=finding.version_id)
    return finding


def _next_people(finding: Finding, action: str) -> list:
    """Who must act after ``action``: the verifier after a fix, the owner after a reopen; both when it closes."""
    if action == "remediate":
        if finding.raised_by_id != finding.remediated_by_id:
            return [finding.raised_by]
        reviewers = get_user_model().objects.filter(groups__name__in=REVIEWERS, is_active=True).distinct()
        return list(reviewers)
    if action == "reopen":
        return [finding.owner]
    return [finding.owner, finding.raised_by]


@transaction.atomic
def finding_transition(*, actor: AbstractBaseUser, finding: Finding, action: str, comment: str) -> Finding:
    """Take one step of the state table, with the comment that says why; it joins the thread."""
    finding = _locked(finding)
    refusal = finding_rules.refusal(actor, finding, action)
    if refusal is not None:
        if action in FINDING_TRANSITIONS and finding.status in FINDING_TRANSITIONS[action].source:
            raise PermissionDenied(refusal)
        raise ApplicationError(refusal, field="action")
    transition = FINDING_TRANSITIONS[action]
    comment = _clean_text(comment, field="comment", label=transition.needs, minimum=MIN_COMMENT[action])
    before = finding.status
    finding.status = transition.target
    now = timezone.now()
    if action == "remediate":
        finding.remediated_by = actor
    elif action in ("verify", "accept"):
        finding.resolved_by, finding.resolved_at, finding.resolution = actor, now, comment
    else:  # reopened: whatever resolved it no longer holds
        finding.resolved_by, finding.resolved_at, finding.resolution = None, None, ""
        finding.remediated_by = None
    finding.save()
    FindingComment.objects.create(
        finding=finding, author=actor, body=comment, from_status=before, to_status=finding.status
    )
    audit_event_record(
        actor=actor,
        action=AuditAction.FINDING_STATUS_CHANGED,
        obj=finding,
        before={"status": before},
        after={"status": finding.status, "comment": comment, "severity": finding.severity},
    )
    _announce(finding)
    notify.emit("finding.status_changed", {**finding_payload(finding, actor=actor), "from_status": before})
    words = {
        "remediate": "marked it remediated; verify the fix or reopen it",
        "verify": "verified the fix; the finding is closed",
        "accept": "accepted the risk; the finding is closed",
        "reopen": "reopened it; it needs remediating again",
    }[action]
    _mail(
        finding,
        subject=finding.get_status_display().lower(),
        body=f"{actor.get_username()} {words}.\n\n{comment}",
        users=_next_people(finding, action),
        actor=actor,
    )
    if action in ("verify", "accept"):
        # The version's open request may have waited only on this finding: it applies now if it is ready.
        promotion_requests_recheck(version_id=finding.version_id)
    return finding


@transaction.atomic
def finding_comment(*, actor: AbstractBaseUser, finding: Finding, body: str) -> FindingComment:
    finding = _locked(finding)
    if not can_comment(actor, finding):
        raise PermissionDenied(
            "Reviewers, the finding's owner, whoever raised it and the model's team take part in its thread."
        )
    entry = FindingComment.objects.create(
        finding=finding, author=actor, body=_clean_text(body, field="body", label="a comment")
    )
    audit_event_record(
        actor=actor, action=AuditAction.FINDING_COMMENTED, obj=finding, after={"comment": entry.body[:2000]}
    )
    _mail(
        finding,
        subject=f"{actor.get_username()} commented",
        body=f"{actor.get_username()} wrote:\n\n{entry.body}",
        users=[finding.owner, finding.raised_by],
        actor=actor,
    )
    return entry
