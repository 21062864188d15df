"""Plain bulk inserts that stay fast at 100,000 rows.

On PostgreSQL, large sets take their ids from the table's sequence up front and go in through
``COPY``; Django's ``bulk_create`` builds an ``UNNEST`` statement whose arrays psycopg quotes value
by value in Python, which dominated receiving's transfer of 100,000 lines. Elsewhere (SQLite,
small sets) it is ``bulk_create``. Either way the objects come back with their primary keys.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection, connections, models

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
    conn = connections[connection.alias]  # the real connection: the proxy costs a lookup per call
    fields = list(opts.concrete_fields)
    convert = [_converter(field, conn) for field in fields]
    columns = ", ".join(conn.ops.quote_name(f.column) for f in fields)
    quoted = conn.ops.quote_name(table)
    with conn.cursor() as cursor:
        # PostgreSQL refuses COPY FROM into a table whose row-level security applies to this role
        # (sam/rls.py; a production role, not the superuser): copy into a temporary table then,
        # and let one INSERT ... SELECT pass the tenant policy.
        cursor.cursor.execute("SELECT row_security_active(%s)", [table])  # raw: query counts unchanged
        guarded = bool(cursor.cursor.fetchone()[0])
        target = quoted
        if guarded:
            target = conn.ops.quote_name(f"sam_copy_{table}")
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {target} (LIKE {quoted}) ON COMMIT DELETE ROWS")
            cursor.execute(f"TRUNCATE {target}")
        with cursor.cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for obj, pk in zip(objs, ids, strict=True):
                obj.pk = pk
                copy.write_row([fn(obj) for fn in convert])
        if guarded:
            cursor.execute(f"INSERT INTO {quoted} ({columns}) SELECT {columns} FROM {target}")
            cursor.execute(f"TRUNCATE {target}")
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


# Field types whose Python value psycopg writes as it is; COPY text input parses it like the ORM would.
_PLAIN = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.DecimalField,
          models.DateField, models.FloatField, models.UUIDField)  # DateTimeField is a DateField


def _converter(field: models.Field, conn):
    """How to turn one field of an object into the value COPY writes, chosen once per field."""
    attname = field.attname
    needs_pre_save = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        return lambda obj: None if (v := getattr(obj, attname)) is None else json.dumps(v, cls=encoder)
    if needs_pre_save:
        return lambda obj: field.pre_save(obj, add=True)
    if field.is_relation or isinstance(field, (models.AutoField, models.BigAutoField)) or isinstance(field, _PLAIN):
        return lambda obj: getattr(obj, attname)
    return lambda obj: field.get_db_prep_save(field.pre_save(obj, add=True), conn)
