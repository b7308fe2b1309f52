"""Small helpers shared by the HTML views of every app."""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest

from portal.errors import ApplicationError

PAGE_SIZE = 25


def form_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's refusal next to the field it concerns (or at the top of the form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def paginate(request: HttpRequest, queryset, per_page: int = PAGE_SIZE):
    paginator = Paginator(queryset, per_page)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()
