"""Plain bulk inserts that stay fast at 100,000 rows.

On PostgreSQL, large sets take their ids from the table's sequence up front and go in through
``COPY``; Django's ``bulk_create`` builds an ``UNNEST`` statement whose arrays psycopg quotes value
by value in Python, which dominated receiving's transfer of 100,000 lines. Elsewhere (SQLite,
small sets) it is ``bulk_create``. Either way the objects come back with their primary keys.
"""
from __future__ import annotations

import copy
import json
import operator
from collections.abc import Callable, Sequence
from typing import Any

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
    columns = ", ".join(conn.ops.quote_name(f.column) for f in fields)
    pk_index = fields.index(opts.pk)
    # Plain fields are read from the instance's __dict__ in one C call; the few others convert per row.
    plain = [i for i, f in enumerate(fields) if _is_plain(f)]
    special = [(i, _converter(f, conn)) for i, f in enumerate(fields) if not _is_plain(f)]
    attnames = [f.attname for f in fields]
    getter = operator.itemgetter(*[attnames[i] for i in plain]) if len(plain) > 1 else None
    width = len(fields)
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
                values = obj.__dict__
                row = [None] * width
                if getter is not None:
                    for i, v in zip(plain, getter(values), strict=True):
                        row[i] = v
                else:
                    for i in plain:
                        row[i] = values.get(attnames[i])
                for i, fn in special:
                    row[i] = fn(obj)
                row[pk_index] = pk
                copy.write_row(row)
        if guarded:
            cursor.execute(f"INSERT INTO {quoted} ({columns}) SELECT {columns} FROM {target}")
            cursor.execute(f"TRUNCATE {target}")
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def _is_plain(field: models.Field) -> bool:
    """A field whose value is in the instance's __dict__ and written as it is."""
    if isinstance(field, models.JSONField) or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return False
    return field.is_relation or isinstance(field, (models.AutoField, models.BigAutoField)) or isinstance(field, _PLAIN)


def insert_values(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rows given as {attname: value} (no model instances: the staging of 100,000 purchase lines
    spends its time here) and return their primary keys in order.

    Missing fields take their default, evaluated once per call (``timezone.now`` is one moment for the
    whole set); ``auto_now`` fields get the same moment. On PostgreSQL the rows go in with COPY;
    elsewhere, and for small sets, through ``bulk_create``.
    """
    if not rows:
        return []
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    defaults: dict[str, Any] = {}
    now = None
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            from django.utils import timezone

            now = now or timezone.now()
            defaults[f.attname] = now if isinstance(f, models.DateTimeField) else now.date()
        elif f.has_default():
            defaults[f.attname] = f.get_default()
        else:
            defaults[f.attname] = None if f.null else ("" if f.empty_strings_allowed else None)
    if connection.vendor != "postgresql" or len(rows) < COPY_THRESHOLD:
        objs = [model(**{**defaults, **row}) for row in rows]
        model.objects.bulk_create(objs, batch_size=1000)
        return [o.pk for o in objs]
    conn = connections[connection.alias]
    table = opts.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [table, opts.pk.column, len(rows)])
        ids = [row[0] for row in cursor.fetchall()]
    columns = [opts.pk, *fields]
    json_fields = [(i + 1, f) for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    others = [(i + 1, f) for i, f in enumerate(fields)
              if not isinstance(f, models.JSONField) and not _is_plain(f)
              and not (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False))]
    names = [f.attname for f in fields]
    names_sql = ", ".join(conn.ops.quote_name(f.column) for f in columns)
    quoted = conn.ops.quote_name(table)
    with conn.cursor() as cursor:
        # Row-level security refuses COPY FROM for a production role: go through a temporary table
        # then, as bulk_insert does.
        cursor.cursor.execute("SELECT row_security_active(%s)", [table])
        guarded = bool(cursor.cursor.fetchone()[0])
        target = quoted
        if guarded:
            target = conn.ops.quote_name(f"sam_copy_{table}")
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {target} (LIKE {quoted}) ON COMMIT DELETE ROWS")
            cursor.execute(f"TRUNCATE {target}")
        with cursor.cursor.copy(f"COPY {target} ({names_sql}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                merged = {**defaults, **row}
                out = [pk, *[merged[n] for n in names]]
                for i, f in json_fields:
                    value = out[i]
                    out[i] = None if value is None else json.dumps(value, cls=f.encoder)
                for i, f in others:
                    out[i] = f.get_db_prep_save(out[i], conn)
                copy.write_row(out)
        if guarded:
            cursor.execute(f"INSERT INTO {quoted} ({names_sql}) SELECT {names_sql} FROM {target}")
            cursor.execute(f"TRUNCATE {target}")
    return ids


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


def instance_factory(prototype: models.Model) -> Callable[[], models.Model]:
    """A maker of unsaved copies of ``prototype`` that skips ``Model.__init__``.

    ``Model.__init__`` visits every field and sets foreign keys through their descriptors; for a
    model with seventy fields that was the largest cost of creating 100,000 entitlements. The copies
    share the prototype's related objects (tenant, repository, ...) and get their own mutable values
    (lists, dicts) and their own ``_state``.
    """
    cls = type(prototype)
    state_cls = type(prototype._state)
    base = {k: v for k, v in prototype.__dict__.items() if k != "_state"}
    mutable = [k for k, v in base.items() if isinstance(v, (list, dict, set))]
    cache = dict(prototype._state.fields_cache)

    def make() -> models.Model:
        obj = cls.__new__(cls)
        values = obj.__dict__
        values.update(base)
        for key in mutable:
            values[key] = copy.copy(base[key])
        state = state_cls()
        state.fields_cache = dict(cache)
        values["_state"] = state
        return obj

    return make
