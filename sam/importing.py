"""Reading uploaded tables and dispatching them to the importer of their kind.

Every import, from the browser or ``import_data``, goes through ``import_file``: the file is read
(CSV with comma/semicolon/tab detected, TSV, XLSX), headers are normalised to canonical column
names through the kind's synonyms, and the importer applies each row on its own, so one bad row
never aborts or half-writes the file.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings


class ImportFileError(Exception):
    """The file cannot be read at all (the command exits non-zero, nothing is written)."""


class RowError(Exception):
    """A row-level problem: ``code`` is a stable reason code, ``column`` the canonical column."""

    def __init__(self, code: str, message: str = "", column: str = ""):
        super().__init__(message or code)
        self.code = code
        self.message = message or code
        self.column = column


_HEADER_STRIP = re.compile(r"[\s_\-.#]+")


def normalise_header(text: str) -> str:
    return _HEADER_STRIP.sub("", (text or "").strip().lower().lstrip("\ufeff"))


@dataclass
class Table:
    header: list[str]  # as in the file
    rows: list[list[str]]  # raw cell text, without the header
    sheet: str = ""


@dataclass
class ImportResult:
    kind: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)  # "Row 12, sku: sku.unknown – message"
    unknown_columns: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # Rows imported with something left out: "Row 7, primary_user: person.unknown – ..."
    warnings: list[str] = field(default_factory=list)

    def reject(self, row_no: int, code: str, message: str = "", column: str = "") -> None:
        self.rejected += 1
        where = f"Row {row_no}" + (f", {column}" if column else "")
        self.errors.append(f"{where}: {code}" + (f" – {message}" if message and message != code else ""))

    def warn(self, row_no: int, code: str, message: str = "", column: str = "") -> None:
        """The row was imported, but not all of it (the message says what was left out)."""
        where = f"Row {row_no}" + (f", {column}" if column else "")
        self.warnings.append(f"{where}: {code}" + (f" – {message}" if message and message != code else ""))

    def summary(self) -> str:
        parts = [f"{self.kind}: {self.read} rows read", f"{self.created} created", f"{self.updated} updated"]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        if self.deleted:
            parts.append(f"{self.deleted} removed")
        if self.waiting:
            parts.append(f"{self.waiting} waiting in receiving inspection")
        parts.append(f"{self.rejected} rejected")
        text = ", ".join(parts)
        if self.errors:
            shown = "; ".join(self.errors[:20])
            more = f" (and {len(self.errors) - 20} more)" if len(self.errors) > 20 else ""
            text += f". Reasons: {shown}{more}"
        if self.warnings:
            shown = "; ".join(self.warnings[:20])
            more = f" (and {len(self.warnings) - 20} more)" if len(self.warnings) > 20 else ""
            text += f". Warnings: {shown}{more}"
        if self.unknown_columns:
            text += f". Ignored unknown columns: {', '.join(self.unknown_columns)}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "read": self.read, "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "deleted": self.deleted, "rejected": self.rejected,
            "waiting": self.waiting, "errors": self.errors[:500], "unknown_columns": self.unknown_columns,
            "warnings": self.warnings[:500],
            **self.extra,
        }


# ---------------------------------------------------------------------------------------------
# Reading files

MAX_XLSX_UNCOMPRESSED = 500 * 1024 * 1024
MAX_XLSX_RATIO = 200
MAX_XLSX_MEMBERS = 10_000

# A kind may accept less than SAM_MAX_UPLOAD_BYTES: kind name -> bytes, or a callable returning them
# (read when a file arrives, so settings overridden in tests apply). The check runs before reading.
KIND_MAX_BYTES: dict[str, int | Callable[[], int]] = {}


def _size_limit(kind: str) -> int:
    limit = settings.SAM_MAX_UPLOAD_BYTES
    own = KIND_MAX_BYTES.get(kind)
    if own is not None:
        limit = min(limit, own() if callable(own) else own)
    return limit


def _check_size(size: int, kind: str) -> None:
    limit = _size_limit(kind)
    if size > limit:
        raise ImportFileError(
            f"The file has {size / 1048576:.1f} MB; {kind or 'this kind'} files are accepted up to "
            f"{limit / 1048576:.1f} MB. Split it into smaller files."
        )


def _decode(data: bytes) -> str:
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8):].decode("utf-8")
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")
        # UTF-16 without BOM (Excel's "Unicode text"): every other byte is NUL in the ASCII range.
        if len(data) >= 4 and data[1:20:2].count(0) >= 5 and data[0:20:2].count(0) == 0:
            return data.decode("utf-16-le")
        if len(data) >= 4 and data[0:20:2].count(0) >= 5 and data[1:20:2].count(0) == 0:
            return data.decode("utf-16-be")
    except UnicodeDecodeError as exc:
        raise ImportFileError("The file looks like UTF-16 text but cannot be decoded; save it again as "
                              "UTF-8 CSV.") from exc
    if b"\x00" in data[:4096]:
        raise ImportFileError("The file looks binary (it contains NUL bytes); expected CSV, TSV or XLSX.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _sniff_delimiter(sample: str) -> str:
    first = sample.split("\n", 1)[0]
    counts = {d: first.count(d) for d in ("\t", ";", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_delimited(data: bytes) -> Table:
    text = _decode(data)
    if not text.strip():
        raise ImportFileError("The file is empty.")
    delimiter = _sniff_delimiter(text[:10000])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [row for row in reader]
    except csv.Error as exc:
        raise ImportFileError(f"The file is not valid CSV (check quotes and line breaks): {exc}") from exc
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ImportFileError("The file is empty.")
    return Table(header=[h.strip() for h in rows[0]], rows=rows[1:])


def read_xlsx(data: bytes, kind: str = "") -> Table:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ImportFileError("The file is not a valid XLSX workbook.") from exc
    members = archive.infolist()
    if len(members) > MAX_XLSX_MEMBERS:
        raise ImportFileError("The workbook holds an implausible number of parts; it was not read.")
    # The declared sizes bound what zipfile will inflate (it stops at file_size), so they can be trusted.
    total = sum(info.file_size for info in members)
    compressed = sum(info.compress_size for info in members) or 1
    if total > MAX_XLSX_UNCOMPRESSED or total / compressed > MAX_XLSX_RATIO and total > 50 * 1024 * 1024:
        raise ImportFileError("The workbook expands to an implausible size (a zip bomb?); it was not read.")
    if "[Content_Types].xml" not in {info.filename for info in members}:
        raise ImportFileError("The file is a ZIP archive but not an XLSX workbook.")
    from openpyxl import load_workbook

    try:
        # data_only=False: a formula arrives as its text (=SUM(...)), never as a computed value.
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise ImportFileError(f"The XLSX workbook cannot be read: {exc}") from exc
    wanted = normalise_header(kind)
    sheet = next((ws for ws in wb.worksheets if normalise_header(ws.title) == wanted), wb.worksheets[0])
    rows: list[list[str]] = []
    for values in sheet.iter_rows(values_only=True):
        cells = ["" if v is None else _xlsx_cell(v) for v in values]
        if any(c.strip() for c in cells):
            rows.append(cells)
    wb.close()
    if not rows:
        raise ImportFileError("The workbook's sheet is empty.")
    return Table(header=[h.strip() for h in rows[0]], rows=rows[1:], sheet=sheet.title)


def _xlsx_cell(value: Any) -> str:
    text = getattr(value, "text", None)  # ArrayFormula and friends: keep the formula text
    if isinstance(text, str):
        return text
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_table(source: str | Path | bytes, *, kind: str = "", filename: str = "") -> Table:
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ImportFileError(f"Cannot read {path}: {exc.strerror}") from exc
        _check_size(size, kind)
        data = path.read_bytes()
        filename = filename or path.name
    else:
        data = bytes(source)
        _check_size(len(data), kind)
    if not data:
        raise ImportFileError("The file is empty.")
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        return read_xlsx(data, kind)
    return read_delimited(data)


# ---------------------------------------------------------------------------------------------
# Values


def clean(value: Any) -> str:
    return "" if value is None else str(value).strip()


TRUE = {"yes", "y", "true", "t", "1", "x", "on", "ja"}
FALSE = {"no", "n", "false", "f", "0", "", "off", "nein"}


def parse_bool(value: Any, *, default: bool | None = None, column: str = "") -> bool:
    text = clean(value).lower()
    if text == "" and default is not None:
        return default
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise RowError("value.boolean", f"{value!r} is not yes/no", column)


def parse_date(value: Any, *, fmt: str = "", column: str = "") -> dt.date | None:
    text = clean(value)
    if not text:
        return None
    try:
        if fmt:
            return dt.datetime.strptime(text, fmt).date()
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise RowError("value.date", f"{text!r} is not a date" + (f" ({fmt})" if fmt else " (YYYY-MM-DD)"),
                       column) from None


def parse_decimal(value: Any, *, column: str = "", decimal_separator: str = ".") -> Decimal | None:
    text = clean(value).replace(" ", "").replace("\u00a0", "")
    if not text:
        return None
    if decimal_separator == ",":
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise RowError("value.number", f"{value!r} is not a number", column) from None
    if not number.is_finite():
        raise RowError("value.number", f"{value!r} is not a number", column)
    return number


def parse_int(value: Any, *, column: str = "", default: int | None = None) -> int | None:
    number = parse_decimal(value, column=column)
    if number is None:
        return default
    if number != number.to_integral_value():
        raise RowError("value.integer", f"{value!r} is not a whole number", column)
    return int(number)


# ---------------------------------------------------------------------------------------------
# Kinds and their importers

Importer = Callable[..., ImportResult]


@dataclass
class Kind:
    name: str
    columns: dict[str, tuple[str, ...]]  # canonical name -> synonyms
    importer: Importer
    master: bool = False  # may run without --tenant, into the master catalog
    required: tuple[str, ...] = ()
    description: str = ""

    def header_map(self, header: list[str]) -> tuple[dict[int, str], list[str]]:
        lookup: dict[str, str] = {}
        for canonical, synonyms in self.columns.items():
            for name in (canonical, *synonyms):
                lookup.setdefault(normalise_header(name), canonical)
        mapping: dict[int, str] = {}
        unknown: list[str] = []
        for index, raw in enumerate(header):
            canonical = lookup.get(normalise_header(raw))
            if canonical and canonical not in mapping.values():
                mapping[index] = canonical
            elif raw.strip():
                unknown.append(raw.strip())
        return mapping, unknown


KINDS: dict[str, Kind] = {}


def register_kind(name: str, *, columns: dict[str, tuple[str, ...]], master: bool = False,
                  required: tuple[str, ...] = (), description: str = "") -> Callable[[Importer], Importer]:
    def decorator(func: Importer) -> Importer:
        KINDS[name] = Kind(name=name, columns=columns, importer=func, master=master, required=required,
                           description=description)
        return func

    return decorator


def load_kinds() -> dict[str, Kind]:
    """Import every app's ``importers`` module so their kinds register themselves."""
    from importlib import import_module

    for app in ("catalog", "inventory", "entitlements", "receiving"):
        try:
            import_module(f"{app}.importers")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.importers":
                raise
    return KINDS


def records(kind: Kind, table: Table, mapping_override: dict[str, str] | None = None
            ) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """Rows as (row number in the file, {canonical column: raw text}). Row numbers count the header as 1."""
    mapping, unknown = kind.header_map(table.header)
    if mapping_override:
        by_header = {normalise_header(h): i for i, h in enumerate(table.header)}
        for raw, canonical in mapping_override.items():
            index = by_header.get(normalise_header(raw))
            if index is not None and canonical in kind.columns:
                mapping[index] = canonical
                unknown = [u for u in unknown if normalise_header(u) != normalise_header(raw)]
    missing = [c for c in kind.required if c not in mapping.values()]
    if missing:
        raise ImportFileError(
            f"The file has no {', '.join(missing)} column (looked for: "
            + "; ".join(f"{c}: {', '.join((c, *kind.columns[c]))}" for c in missing) + ")."
        )
    out: list[tuple[int, dict[str, str]]] = []
    for offset, row in enumerate(table.rows, start=2):
        out.append((offset, {canonical: clean(row[i]) if i < len(row) else "" for i, canonical in mapping.items()}))
    return out, unknown


def import_file(*, kind: str, source: str | Path | bytes, tenant=None, as_of: dt.date | None = None,
                actor=None, filename: str = "", profile=None, job=None, mapping: dict[str, str] | None = None,
                recompute: bool = True) -> ImportResult:
    """Read a file and hand its rows to the kind's importer. Raises ImportFileError if unreadable."""
    kinds = load_kinds()
    if kind not in kinds:
        raise ImportFileError(f"Unknown kind {kind!r}. Known kinds: {', '.join(sorted(kinds))}.")
    spec = kinds[kind]
    if tenant is None and not spec.master:
        raise ImportFileError(f"{kind} is a tenant kind: give --tenant SLUG.")
    table = read_table(source, kind=kind, filename=filename)
    rows, unknown = records(spec, table, mapping)
    result = spec.importer(
        tenant=tenant, rows=rows, as_of=as_of or dt.date.today(), actor=actor, job=job, profile=profile,
        source=source, filename=filename,
    )
    result.unknown_columns = unknown
    if recompute and tenant is not None and result.extra.get("affects_engine", True) and (
        result.created or result.updated or result.deleted
    ):
        from requirements_engine.services import recompute_request

        # An importer that knows exactly which consumers it touched says so in extra["changed"];
        # the engine then recomputes only those (the daily run stays full).
        recompute_request(tenant=tenant, as_of=as_of, reason=f"import {kind}", actor=actor,
                          changed=result.extra.get("changed"))
    if tenant is not None and kind in REVALIDATES_RECEIVING and (result.created or result.updated or result.deleted):
        # New SKUs, aliases, persons, cost centers or contracts can clear lines waiting in the queue.
        from receiving.services import receiving_revalidate

        receiving_revalidate(tenant=tenant, actor=actor)
    return result


# Kinds whose rows the receiving validation reads.
REVALIDATES_RECEIVING = frozenset({"catalog", "persons", "cost_centers", "contracts"})


def iter_chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
