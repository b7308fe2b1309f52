"""Release facts on the registry's pages: rendered here, so registry code never imports the workflow."""

from __future__ import annotations

from django import template
from django.utils import timezone

from approvals import selectors
from approvals.choices import RequestStatus
from approvals.forms import RequestForm
from approvals.services import can_open_finding, offered_transitions

register = template.Library()
TIMELINE_ROWS = 20
REQUEST_ROWS = 10
FINDING_ROWS = 10


@register.inclusion_tag("approvals/_model_timeline.html")
def release_timeline(model) -> dict:
    """The model's stage changes and its open or refused requests, newest first in one list (an open request
    is often the newest thing that happened to the model)."""
    timeline = list(selectors.timeline(model)[:TIMELINE_ROWS])
    for change in timeline:  # every row is a version of this model: its links need no query for it
        change.version.model = model
    requests = selectors.request_list().filter(version__model=model).order_by("-created_at")[:REQUEST_ROWS]
    rows = [("change", c) for c in timeline] + [
        ("request", r) for r in requests if r.is_open or r.status in (RequestStatus.REJECTED, RequestStatus.WITHDRAWN)
    ]
    rows.sort(key=lambda row: row[1].created_at, reverse=True)
    return {"rows": rows[:TIMELINE_ROWS]}


@register.inclusion_tag("approvals/_release_panel.html", takes_context=True)
def release_panel(context, version) -> dict:
    """Where the version stands, its open request, and the release steps the signed-in person may ask for."""
    # Every request about this version, closed ones with why: a rejection's reason is read here. The open
    # one is among them: at most one is open (a constraint) and none is opened beside it, so it is the newest.
    requests = selectors.requests_of(version, REQUEST_ROWS)
    user = context["request"].user
    findings = selectors.findings_of(version)
    return {
        "version": version,
        "open_request": next((r for r in requests if r.is_open), None),
        "transitions": offered_transitions(user, version),
        "findings": findings[:FINDING_ROWS],
        "findings_more": max(0, len(findings) - FINDING_ROWS),
        "unresolved": sum(1 for f in findings if not f.is_resolved),
        "can_open_finding": can_open_finding(user, version),
        "today": timezone.localdate(),
        "request_form": RequestForm(),
        "csrf_token": context.get("csrf_token"),
        "requests": requests,
        "attestations": list(selectors.attestation_list().filter(version=version).defer("envelope")[:REQUEST_ROWS]),
    }


@register.inclusion_tag("approvals/_evidence_for.html")
def evidence_for_request(version) -> dict:
    """The open request a job on ``version`` is evidence for, if any."""
    return {"for_request": selectors.open_request_of(version)}
