"""Small helpers shared by the HTML views of every app."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest
from django.utils.functional import cached_property

from portal.core.errors import ApplicationError
from portal.core.pagination import CountSparingPaginator

PAGE_SIZE = 25


def form_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's refusal next to the field it concerns (or at the top of the form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


class CappedPaginator(CountSparingPaginator):
    """Counts at most ``CAP`` rows, so a page of a log that grows without end (jobs, the audit log) costs the
    same at a million rows as at a thousand; beyond that the page says "10,000+" and filters narrow it."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP + 1].count()

    def _known_count(self, rows: int) -> int:
        return min(rows, self.CAP + 1)

    @property
    def capped(self) -> bool:
        return self.count > self.CAP

    @property
    def count_label(self) -> str:
        return f"{self.CAP:,}+" if self.capped else f"{self.count:,}"


def paginate(request: HttpRequest, queryset, per_page: int = PAGE_SIZE, *, capped: bool = False):
    paginator = (CappedPaginator if capped else CountSparingPaginator)(queryset, per_page)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()


def filtered(request: HttpRequest, filterset_class, queryset, *, default_order: tuple[str, ...] = ()):
    """``(filterset, rows, status)`` for a list page: the rows its filters select. Filters that cannot be read
    select nothing, say why, and answer 400: a page (or its export) must never widen to everything because a
    filter was mistyped. The API refuses the same filters with the same FilterSet."""
    filterset = filterset_class(request.GET or None, queryset=queryset)
    if filterset.is_bound and not filterset.is_valid():
        messages.error(
            request,
            "Some filters could not be read: "
            + "; ".join(
                f"{filterset.form.fields[name].label or name}: {' '.join(errors)}"
                for name, errors in filterset.errors.items()
            ),
        )
        return filterset, queryset.none(), 400
    if filterset.is_bound:
        return filterset, filterset.qs, 200
    return filterset, queryset.order_by(*default_order) if default_order else queryset, 200
