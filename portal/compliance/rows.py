"""Bounded lists: every list the pack shows holds at most ``GATEHOUSE_PACK_MAX_ROWS`` rows and says how many it
left out, so the pack of a version with years of history costs what a young one's does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.conf import settings
from django.db.models import QuerySet

T = TypeVar("T")


@dataclass
class Rows(Generic[T]):
    """At most ``GATEHOUSE_PACK_MAX_ROWS`` items of a list of ``total``; ``more`` were left out."""

    items: list[T]
    total: int
    more: int = field(init=False)

    def __post_init__(self) -> None:
        self.more = max(self.total - len(self.items), 0)


def max_rows() -> int:
    return settings.GATEHOUSE_PACK_MAX_ROWS


def bounded(queryset: QuerySet, convert: Callable = lambda row: row, *, limit: int | None = None) -> Rows:
    """The first ``limit`` rows of ``queryset``, converted, and how many it holds (counted only when the page
    is full: a shorter one is the whole list)."""
    limit = limit or max_rows()
    items = [convert(row) for row in queryset[:limit]]
    total = len(items) if len(items) < limit else queryset.order_by().count()
    return Rows(items, total)


def bounded_list(values: list, *, limit: int | None = None) -> Rows:
    limit = limit or max_rows()
    return Rows(list(values[:limit]), len(values))
