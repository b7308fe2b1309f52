"""Logging: every record carries the request id (portal.core.request_context), as text or as JSON lines."""

from __future__ import annotations

import logging

from portal.core.request_context import current_request_context


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = current_request_context()
        record.request_id = context.request_id if context else "-"
        return True
