"""Logging: every record carries the request id (portal.core.request_context), as text or as JSON lines."""

from __future__ import annotations

import logging

from portal.core.request_context import current_request_context


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = current_request_context()
        record.request_id = context.request_id if context else "-"
        return True


class RefusalsWithoutTracebacks(logging.Filter):
    """A refusal the portal meant to give (403: the role or the team rule says no) is one WARNING line, not a
    traceback: the log keeps tracebacks for what went wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
