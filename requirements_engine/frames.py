"""Columnar reads and writes for the engine: querysets in, Polars frames out; frames in, one upsert out.

Reads: on PostgreSQL a queryset's SQL runs as ``COPY (SELECT ...) TO STDOUT WITH (FORMAT csv)`` and
the bytes go straight into ``polars.read_csv`` (no Python object per row); on SQLite the cursor's
rows are turned into columns. Every column arrives as text and is typed by ``typed`` the same way on
both databases, so the engine computes the same frames on either.

Writes: ``upsert_frame`` fills a temporary table (``COPY ... FROM STDIN`` on PostgreSQL, one
``executemany`` on SQLite) and runs one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE``;
``delete_ids`` deletes by id in large chunks.
"""
from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Sequence

import polars as pl
from django.db import connection
from django.db.models import QuerySet

_names = itertools.count(1)

#: column type names used by ``typed``
INT, STR, BOOL, DATE, FLOAT = "int", "str", "bool", "date", "float"


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def read(qs: QuerySet, columns: dict[str, str], fields: Sequence[str] | None = None) -> pl.DataFrame:
    """Run ``qs.values_list(*fields)`` and return its rows as a typed frame named by ``columns``."""
    names = list(columns)
    fields = list(fields or names)
    sql, params = qs.values_list(*fields).query.sql_with_params()
    if is_postgres():
        buf = io.BytesIO()
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                for block in copy:
                    buf.write(block)
        data = buf.getvalue()
        if not data:
            return empty(columns)
        frame = pl.read_csv(data, has_header=False, new_columns=names, schema={n: pl.String for n in names},
                            quote_char='"')
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not rows:
            return empty(columns)
        cols = list(zip(*rows, strict=True))
        frame = pl.DataFrame({n: pl.Series(n, [None if v is None else _text(v) for v in col], dtype=pl.String)
                              for n, col in zip(names, cols, strict=True)})
    return typed(frame, columns)


def read_in(qs: QuerySet, field: str, ids: Iterable | None, columns: dict[str, str],
            fields: Sequence[str] | None = None) -> pl.DataFrame:
    """``read`` of ``qs`` (ids None) or of ``qs.filter(field__in=chunk)`` per chunk of ids, concatenated."""
    if ids is None:
        return read(qs, columns, fields)
    ids = sorted(ids)
    size = 30_000 if is_postgres() else 900
    parts = [read(qs.filter(**{f"{field}__in": ids[i:i + size]}), columns, fields) for i in range(0, len(ids), size)]
    return pl.concat(parts) if parts else empty(columns)


def _text(value) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


_DTYPES = {INT: pl.Int64, STR: pl.String, BOOL: pl.Boolean, DATE: pl.Date, FLOAT: pl.Float64}


def empty(columns: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame(schema={n: _DTYPES[t] for n, t in columns.items()})


def typed(frame: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    exprs = []
    for name, kind in columns.items():
        col = pl.col(name)
        if kind == INT:
            exprs.append(col.cast(pl.Int64))
        elif kind == FLOAT:
            exprs.append(col.cast(pl.Float64))
        elif kind == BOOL:
            exprs.append(pl.when(col.is_null()).then(None).otherwise(col.str.to_lowercase().is_in(["t", "true", "1"]))
                         .alias(name))
        elif kind == DATE:
            exprs.append(col.str.slice(0, 10).str.to_date("%Y-%m-%d"))
        else:
            exprs.append(col)
    return frame.select(exprs)


# --- writes -------------------------------------------------------------------------------------


def upsert_frame(table: str, frame: pl.DataFrame, *, conflict: Sequence[str], update: Sequence[str]) -> int:
    """Insert the rows of ``frame`` (columns named as the table's) into ``table``; on a conflict on
    ``conflict``, update ``update``. One statement after the temporary table is filled."""
    if frame.is_empty():
        return 0
    cols = frame.columns
    qn = connection.ops.quote_name
    col_list = ", ".join(qn(c) for c in cols)
    sets = ", ".join(f"{qn(c)} = excluded.{qn(c)}" for c in update)
    target = ", ".join(qn(c) for c in conflict)
    temp = f"_engine_frame_{next(_names)}"
    with connection.cursor() as cursor:
        if is_postgres():
            raw = cursor.cursor
            raw.execute(f"CREATE TEMP TABLE {temp} AS SELECT {col_list} FROM {qn(table)} WITH NO DATA")
            data = frame.write_csv(include_header=False, quote_style="non_numeric", null_value="",
                                   date_format="%Y-%m-%d")
            with raw.copy(f"COPY {temp} ({col_list}) FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(data.encode())
            raw.execute(f"INSERT INTO {qn(table)} ({col_list}) SELECT {col_list} FROM {temp} "
                        f"ON CONFLICT ({target}) DO UPDATE SET {sets}")
            raw.execute(f"DROP TABLE {temp}")
        else:
            marks = ", ".join(["%s"] * len(cols))
            rows = [tuple(_sqlite(v) for v in row) for row in frame.iter_rows()]
            cursor.executemany(f"INSERT INTO {qn(table)} ({col_list}) VALUES ({marks}) "
                               f"ON CONFLICT ({target}) DO UPDATE SET {sets}", rows)
    return frame.height


def _sqlite(value):
    import datetime as dt

    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def insert_frame(table: str, frame: pl.DataFrame) -> int:
    """Plain insert of the rows of ``frame`` (no conflict expected)."""
    if frame.is_empty():
        return 0
    cols = frame.columns
    qn = connection.ops.quote_name
    col_list = ", ".join(qn(c) for c in cols)
    with connection.cursor() as cursor:
        if is_postgres():
            data = frame.write_csv(include_header=False, quote_style="non_numeric", null_value="",
                                   date_format="%Y-%m-%d")
            raw = cursor.cursor
            # PostgreSQL refuses COPY FROM into a table whose row-level security applies to this role
            # (a production role, not the superuser): copy into a temporary table and let one
            # INSERT ... SELECT pass the tenant policy then.
            raw.execute("SELECT row_security_active(%s)", [table])
            if raw.fetchone()[0]:
                temp = f"_engine_frame_{next(_names)}"
                raw.execute(f"CREATE TEMP TABLE {temp} AS SELECT {col_list} FROM {qn(table)} WITH NO DATA")
                with raw.copy(f"COPY {temp} ({col_list}) FROM STDIN WITH (FORMAT csv)") as copy:
                    copy.write(data.encode())
                raw.execute(f"INSERT INTO {qn(table)} ({col_list}) SELECT {col_list} FROM {temp}")
                raw.execute(f"DROP TABLE {temp}")
            else:
                with raw.copy(f"COPY {qn(table)} ({col_list}) FROM STDIN WITH (FORMAT csv)") as copy:
                    copy.write(data.encode())
        else:
            marks = ", ".join(["%s"] * len(cols))
            cursor.executemany(f"INSERT INTO {qn(table)} ({col_list}) VALUES ({marks})",
                               [tuple(_sqlite(v) for v in row) for row in frame.iter_rows()])
    return frame.height


def update_frame(table: str, frame: pl.DataFrame, *, update: Sequence[str], key: str = "id") -> int:
    """Update ``update`` columns of the rows whose ``key`` is in ``frame`` (one statement after the
    temporary table is filled on PostgreSQL; one ``executemany`` on SQLite)."""
    if frame.is_empty():
        return 0
    qn = connection.ops.quote_name
    cols = [key, *update]
    frame = frame.select(cols)
    col_list = ", ".join(qn(c) for c in cols)
    with connection.cursor() as cursor:
        if is_postgres():
            raw = cursor.cursor
            temp = f"_engine_frame_{next(_names)}"
            raw.execute(f"CREATE TEMP TABLE {temp} AS SELECT {col_list} FROM {qn(table)} WITH NO DATA")
            data = frame.write_csv(include_header=False, quote_style="non_numeric", null_value="",
                                   date_format="%Y-%m-%d")
            with raw.copy(f"COPY {temp} ({col_list}) FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(data.encode())
            sets = ", ".join(f"{qn(c)} = s.{qn(c)}" for c in update)
            raw.execute(f"UPDATE {qn(table)} AS t SET {sets} FROM {temp} AS s WHERE t.{qn(key)} = s.{qn(key)}")
            raw.execute(f"DROP TABLE {temp}")
        else:
            sets = ", ".join(f"{qn(c)} = %s" for c in update)
            cursor.executemany(f"UPDATE {qn(table)} SET {sets} WHERE {qn(key)} = %s",
                               [tuple(_sqlite(v) for v in (*row[1:], row[0])) for row in frame.iter_rows()])
    return frame.height


def delete_ids(table: str, ids: Sequence[int], column: str = "id") -> int:
    """``DELETE FROM table WHERE column IN ids`` in chunks (``= ANY(array)`` on PostgreSQL)."""
    if not len(ids):
        return 0
    qn = connection.ops.quote_name
    ids = [int(i) for i in ids]
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(f"DELETE FROM {qn(table)} WHERE {qn(column)} = ANY(%s)", [ids])
        else:
            for start in range(0, len(ids), 900):
                chunk = ids[start:start + 900]
                cursor.execute(f"DELETE FROM {qn(table)} WHERE {qn(column)} IN ({', '.join(['%s'] * len(chunk))})",
                               chunk)
    return len(ids)
