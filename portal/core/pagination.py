"""The paginator every list uses, pages and API: it counts only when the page cannot tell it the count."""

from __future__ import annotations

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator

_MAX_OFFSET = 2**62  # far past any table; an OFFSET beyond 2**63 is an error in SQLite and PostgreSQL


class CountSparingPaginator(Paginator):
    """Django's Paginator counts the rows before it reads a page. This one reads the page first: a page shorter
    than the page size is the last one, so the count is the rows before it plus its own, and the COUNT query
    is skipped. That is every list of one page (most models' versions, a filtered search): one query, not two
    (bench/README.md §9). A full page, or an empty one past the first, is counted as Django would, so
    ``count``, ``num_pages`` and the errors for a page out of range stay Django's."""

    def get_page(self, number):
        """Django's get_page validates the number against the count first; here the page is read first."""
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(self.num_pages)

    def page(self, number):
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            wanted = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if wanted < 1 or self.orphans or wanted > _MAX_OFFSET // self.per_page:
            return super().page(number)  # counted first: a page past the end is EmptyPage, never a huge OFFSET
        bottom = (wanted - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page])
        if len(rows) < self.per_page and (rows or wanted == 1) and "count" not in self.__dict__:
            self.__dict__["count"] = self._known_count(bottom + len(rows))  # Paginator.count is a cached_property
        # An empty list has one (empty) page when allow_empty_first_page, none otherwise: num_pages says which.
        if not rows and wanted > self.num_pages:
            raise EmptyPage(self.error_messages["no_results"])
        return self._get_page(rows, wanted, self)

    def _known_count(self, rows: int) -> int:
        """What ``count`` would have answered, knowing there are ``rows`` rows in all."""
        return rows
