"""One renderer for every export: TSV (default), CSV and XLSX, with the formula-injection guard.

Exporters yield rows (sequences of plain values); this module turns them into bytes.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

FORMATS = {"tsv": "text/tab-separated-values", "csv": "text/csv",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
# What a spreadsheet may skip before reading a formula: spaces of every kind, tabs, line breaks,
# zero-width characters and a BOM.
_LEADING = re.compile(r"^[\s\u00a0\u1680\u2000-\u200f\u2028\u2029\u202f\u205f\u3000\ufeff]+")
_FORMULA_START = "=+-@\uff1d\uff0b\uff0d\uff20"  # and their full-width forms


def _is_number(text: str) -> bool:
    return bool(_PLAIN_NUMBER.match(text))


def cell_text(value: Any) -> str:
    """A value as export text: dates in ISO, booleans as yes/no, whitespace flattened, formulas guarded."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = value.normalize() if value == value.to_integral() else value
        text = format(value, "f")
    else:
        text = str(value)
    text = text.replace("\r\n", " ").replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return guard_formula(text)


def guard_formula(text: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would run as a formula: one whose first character after
    any leading spaces (NBSP, tabs, zero-width ...) is ``= + - @``, unless it is a plain number."""
    stripped = _LEADING.sub("", text)
    if stripped and stripped[0] in _FORMULA_START and not (stripped == text and _is_number(text)):
        return "'" + text
    return text


def iter_delimited(header: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str = "tsv") -> Iterator[str]:
    """Yield the export line by line (streamable)."""
    if fmt == "tsv":
        yield "\t".join(cell_text(h) for h in header) + "\n"
        for row in rows:
            yield "\t".join(cell_text(v) for v in row) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([cell_text(h) for h in header])
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([cell_text(v) for v in row])
        yield buffer.getvalue()


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str = "export",
               preamble: Sequence[Sequence[Any]] = ()) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31] or "export")
    for line in preamble:
        ws.append([cell_text(v) for v in line])
    ws.append([cell_text(h) for h in header])
    for row in rows:
        out = []
        for v in row:
            if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
                out.append(float(v) if isinstance(v, Decimal) else v)
            else:
                out.append(cell_text(v))
        ws.append(out)
    stream = io.BytesIO()
    wb.save(stream)
    return stream.getvalue()


def render(header: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str = "tsv", *, title: str = "export") -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "xlsx":
        return xlsx_bytes(header, rows, title=title)
    return "".join(iter_delimited(header, rows, fmt)).encode("utf-8")
