"""Release pages: requests (open, queue, detail, decide, withdraw) and findings."""

from approvals.views.findings import (
    finding_comment,
    finding_create,
    finding_detail,
    finding_edit,
    finding_list,
    finding_step,
)
from approvals.views.requests import queue, request_decide, request_detail, request_list, request_open, request_withdraw

__all__ = [
    "finding_comment",
    "finding_create",
    "finding_detail",
    "finding_edit",
    "finding_list",
    "finding_step",
    "queue",
    "request_decide",
    "request_detail",
    "request_list",
    "request_open",
    "request_withdraw",
]
