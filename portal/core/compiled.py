"""A queryset's SQL compiled once per process, then run with other values.

Django builds and compiles a queryset every time one is evaluated. For a read of a few rows by key, that is
more CPU than the database spends answering it: the model page's debt panel is seven such reads, and the ORM
was most of its 9 ms of CPU (bench/README.md §9). ``Compiled(build, name=stand_in, …)`` calls ``build``
once with stand-in values, finds where each one lands among the statement's parameters, and from then on
runs the same SQL with the real values, through the compiler's own converters (so rows come back as the
queryset would return them: tuples for ``values_list``, dicts for ``values``).

Only for querysets whose SQL does not depend on the values (no list whose length varies, no branch in
``build`` on a value): each stand-in must appear among the parameters as given, or compiling refuses.
``tests/portal/core/test_compiled.py`` holds the rows equal to the queryset's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import ValuesIterable, ValuesListIterable


class _Statement:
    def __init__(self, queryset: QuerySet, stand_ins: dict[str, Any], alias: str):
        if queryset._iterable_class not in (ValuesIterable, ValuesListIterable):
            raise ImproperlyConfigured("Compiled: only values() and values_list() querysets (rows, not models).")
        ops = connections[alias].ops
        self.compiler = queryset.query.get_compiler(using=alias)
        self.sql, params = self.compiler.as_sql()
        # A datetime reaches some backends as text (SQLite): look for it, and later pass it, in that form.
        adapted = {
            n: ops.adapt_datetimefield_value(v) if isinstance(v, dt.datetime) else v for n, v in stand_ins.items()
        }
        self.slots: list[tuple[str | None, Any]] = []
        for param in params:
            name = next((n for n, v in adapted.items() if type(param) is type(v) and param == v), None)
            self.slots.append((name, None if name else param))
        missing = set(stand_ins) - {name for name, _ in self.slots if name}
        if missing:
            raise ImproperlyConfigured(f"Compiled: the stand-ins {sorted(missing)} are not among the parameters.")
        self.adapt = {n for n, v in stand_ins.items() if isinstance(v, dt.datetime)}
        query = queryset.query
        self.names = (
            [*query.extra_select, *query.values_select, *query.annotation_select]
            if queryset._iterable_class is ValuesIterable
            else None
        )

    def rows(self, alias: str, values: dict[str, Any]) -> list:
        ops = connections[alias].ops
        for name in self.adapt:
            values[name] = ops.adapt_datetimefield_value(values[name])
        params = [values[name] if name else constant for name, constant in self.slots]
        with connections[alias].cursor() as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        rows = list(self.compiler.results_iter([fetched], tuple_expected=True))
        return [dict(zip(self.names, row, strict=True)) for row in rows] if self.names is not None else rows


class Compiled:
    """``Compiled(build, **stand_ins).rows(**values)`` is ``list(build(**values))``, compiled once."""

    def __init__(self, build: Callable[..., QuerySet], **stand_ins: Any):
        self.build, self.stand_ins = build, stand_ins
        self._statements: dict[tuple[str, str], _Statement] = {}

    def rows(self, *, using: str = "default", **values: Any) -> list:
        key = (using, connections[using].vendor)
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = _Statement(self.build(**self.stand_ins), self.stand_ins, using)
        return statement.rows(using, dict(values))
