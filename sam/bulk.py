"""Plain bulk inserts that stay fast at 100,000 rows.

On PostgreSQL, large sets take their ids from the table's sequence up front and go in through
``COPY``; Django's ``bulk_create`` builds an ``UNNEST`` statement whose arrays psycopg quotes value
by value in Python, which dominated receiving's transfer of 100,000 lines. Elsewhere (SQLite,
small sets) it is ``bulk_create``. Either way the objects come back with their primary keys.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection, models

COPY_THRESHOLD = 500


def bulk_insert(model: type[models.Model], objs: Sequence[models.Model], *, batch_size: int = 1000) -> None:
    """Insert new, unsaved ``objs`` of ``model`` and set their primary keys (no signals, like bulk_create)."""
    if not objs:
        return
    if connection.vendor != "postgresql" or len(objs) < COPY_THRESHOLD:
        model.objects.bulk_create(objs, batch_size=batch_size)
        return
    opts = model._meta
    table = opts.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [table, opts.pk.column, len(objs)])
        ids = [row[0] for row in cursor.fetchall()]
    fields = list(opts.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
            for obj, pk in zip(objs, ids, strict=True):
                obj.pk = pk
                values = []
                for field in fields:
                    value = field.pre_save(obj, add=True)  # auto_now(_add), defaults already on the instance
                    if isinstance(field, models.JSONField):
                        values.append(None if value is None else json.dumps(value, cls=field.encoder))
                    else:
                        values.append(field.get_db_prep_save(value, connection))
                copy.write_row(values)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
