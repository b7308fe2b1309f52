"""Working days, counted one way everywhere: the request page's age, the SLA, the debt index's 'stuck'."""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.utils import timezone


def working_days(start: dt.datetime, end: dt.datetime | None = None) -> int:
    """Weekdays (Monday to Friday) in (start's date, end's date]: a request opened on a Friday has waited one
    working day on Monday. ``end`` defaults to now."""
    end = end or timezone.now()
    first = start.date() + dt.timedelta(days=1)
    last = end.date() + dt.timedelta(days=1)
    return int(np.busday_count(first, last)) if last > first else 0
