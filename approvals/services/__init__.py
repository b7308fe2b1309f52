"""Writes of the release workflow: requests (open, decide, withdraw, apply) and policies."""

from approvals.finding_rules import allowed_actions, can_comment, can_edit_finding, can_open_finding
from approvals.services.findings import (
    finding_comment,
    finding_open,
    finding_transition,
    finding_update,
)
from approvals.services.policies import policy_save
from approvals.services.requests import (
    decision_roles,
    may_request,
    offered_transitions,
    promotion_request_decide,
    promotion_request_open,
    promotion_request_withdraw,
    require_some_request,
)
from approvals.services.transitions import promotion_requests_recheck

__all__ = [
    "allowed_actions",
    "can_comment",
    "can_edit_finding",
    "can_open_finding",
    "finding_comment",
    "finding_open",
    "finding_transition",
    "finding_update",
    "decision_roles",
    "may_request",
    "offered_transitions",
    "policy_save",
    "promotion_request_decide",
    "promotion_request_open",
    "promotion_request_withdraw",
    "promotion_requests_recheck",
    "require_some_request",
]
