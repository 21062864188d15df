"""Set-based upserts for the engine's writes.

``upsert`` is ``bulk_create(update_conflicts=True, unique_fields=..., update_fields=...)``. On
PostgreSQL, large sets go through ``COPY`` into a temporary table and one ``INSERT ... SELECT ...
ON CONFLICT DO UPDATE``: the same statement semantics, without building a parameter list of
hundreds of thousands of values in Python (the ORM path spends ~0.4 ms per row on that).
"""
from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

from django.db import connection, models
from django.utils import timezone

COPY_THRESHOLD = 2000
_names = itertools.count(1)


def batch_size() -> int:
    # SQLite caps a statement at 999 parameters (Django splits further itself); PostgreSQL takes more.
    return 2000 if connection.vendor == "postgresql" else 500


def upsert(model: type[models.Model], rows: Sequence[dict[str, Any]], *, unique_fields: list[str],
           update_fields: list[str]) -> None:
    """Insert ``rows`` (dicts by attribute name, e.g. ``device_id``); where a row with the same
    ``unique_fields`` exists, update ``update_fields``. Missing attributes take the field default."""
    if not rows:
        return
    if connection.vendor != "postgresql" or len(rows) < COPY_THRESHOLD:
        model.objects.bulk_create([model(**row) for row in rows], batch_size=batch_size(), update_conflicts=True,
                                  unique_fields=unique_fields, update_fields=update_fields)
        return
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    now = timezone.now()
    defaults: dict[str, Any] = {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = now  # as bulk_create's pre_save would set them
        elif f.has_default():
            defaults[f.attname] = f.get_default()
        else:
            defaults[f.attname] = None
    forced = {f.attname for f in fields if getattr(f, "auto_now", False)}
    table = connection.ops.quote_name(opts.db_table)
    cols = [connection.ops.quote_name(f.column) for f in fields]
    col_list = ", ".join(cols)
    unique_cols = ", ".join(connection.ops.quote_name(opts.get_field(n).column) for n in unique_fields)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in
                        (connection.ops.quote_name(opts.get_field(n).column) for n in update_fields))
    temp = f"_engine_upsert_{next(_names)}"
    json_attnames = {f.attname for f in fields if isinstance(f, models.JSONField)}
    attnames = [f.attname for f in fields]
    with connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute(f"CREATE TEMP TABLE {temp} AS SELECT {col_list} FROM {table} WITH NO DATA")
        with raw.copy(f"COPY {temp} ({col_list}) FROM STDIN") as copy:
            for row in rows:
                values = []
                for a in attnames:
                    value = now if a in forced else row.get(a, defaults[a])
                    values.append(json.dumps(value) if a in json_attnames else value)
                copy.write_row(values)
        raw.execute(f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM {temp} "
                    f"ON CONFLICT ({unique_cols}) DO UPDATE SET {updates}")
        raw.execute(f"DROP TABLE {temp}")
