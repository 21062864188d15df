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
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.module_loading import autodiscover_modules

from sam.changes import changes_record
from sam.hooks import hook_run


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
    """A header compared case-insensitively, ignoring spaces, ``_``, ``-``, ``.``, ``#`` and a BOM."""
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
MAX_XLSX_RATIO = 100
MAX_XLSX_RATIO_FLOOR = 2 * 1024 * 1024  # a workbook expanding to less than this is cheap at any ratio
MAX_XLSX_MEMBERS = 10_000
# What a preview reads of a CSV/TSV file: its first bytes only (the full parse runs in the job).
PREVIEW_BYTES = 512 * 1024

# A kind may accept less than SAM_MAX_UPLOAD_BYTES: kind name -> bytes, or a callable returning them
# (read when a file arrives, so settings overridden in tests apply). The check runs before reading.
KIND_MAX_BYTES: dict[str, int | Callable[[], int]] = {}


def limits() -> tuple[int, int, int]:
    """(rows, columns, characters per cell) a file may have; settings so an operator can change them."""
    return (int(getattr(settings, "SAM_MAX_IMPORT_ROWS", 1_000_000)),
            int(getattr(settings, "SAM_MAX_IMPORT_COLUMNS", 200)),
            int(getattr(settings, "SAM_MAX_CELL_CHARS", 4000)))


def size_limit(kind: str) -> int:
    """The largest file (bytes) accepted for ``kind``."""
    limit = settings.SAM_MAX_UPLOAD_BYTES
    own = KIND_MAX_BYTES.get(kind)
    if own is not None:
        limit = min(limit, own() if callable(own) else own)
    return limit


_size_limit = size_limit


def check_size(size: int, kind: str) -> None:
    """Refuse a file by its size alone, before anything of it is read."""
    limit = size_limit(kind)
    if size > limit:
        raise ImportFileError(
            f"The file has {size / 1048576:.1f} MB; {kind or 'this kind'} files are accepted up to "
            f"{limit / 1048576:.1f} MB. Split it into smaller files."
        )


_check_size = check_size


def _decode(data: bytes, *, truncated: bool = False) -> str:
    try:
        if data.startswith(codecs.BOM_UTF8):
            return _utf8(data[len(codecs.BOM_UTF8):], truncated)
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data[: len(data) - len(data) % 2 if truncated else None].decode("utf-16")
        # UTF-16 without BOM (Excel's "Unicode text"): every other byte is NUL in the ASCII range.
        if len(data) >= 4 and data[1:20:2].count(0) >= 5 and data[0:20:2].count(0) == 0:
            return data[: len(data) - len(data) % 2 if truncated else None].decode("utf-16-le")
        if len(data) >= 4 and data[0:20:2].count(0) >= 5 and data[1:20:2].count(0) == 0:
            return data[: len(data) - len(data) % 2 if truncated else None].decode("utf-16-be")
    except UnicodeDecodeError as exc:
        raise ImportFileError("The file looks like UTF-16 text but cannot be decoded; save it again as "
                              "UTF-8 CSV.") from exc
    if b"\x00" in data[:4096]:
        raise ImportFileError("The file looks binary (it contains NUL bytes); expected CSV, TSV or XLSX.")
    try:
        return _utf8(data, truncated)
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _utf8(data: bytes, truncated: bool) -> str:
    if not truncated:
        return data.decode("utf-8")
    # A prefix may end inside a character: drop up to three trailing bytes of it.
    for cut in range(4):
        try:
            return data[: len(data) - cut].decode("utf-8")
        except UnicodeDecodeError:
            if cut == 3:
                raise
    raise AssertionError("unreachable")


def _sniff_delimiter(sample: str) -> str:
    first = sample.split("\n", 1)[0]
    counts = {d: first.count(d) for d in ("\t", ";", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _check_row(cells: list[str], index: int, max_columns: int) -> None:
    if len(cells) > max_columns and any(c.strip() for c in cells[max_columns:]):
        raise ImportFileError(f"Line {index} has more than {max_columns} columns; the file was not read.")


def read_delimited(data: bytes, *, max_rows: int | None = None, truncated: bool = False) -> Table:
    """CSV/TSV text as a table. ``max_rows`` stops after that many data rows (a preview);
    ``truncated`` says ``data`` is only the file's beginning (its last, partial line is dropped)."""
    text = _decode(data, truncated=truncated)
    if truncated and "\n" in text:
        text = text[: text.rindex("\n") + 1]
    if not text.strip():
        raise ImportFileError("The file is empty.")
    row_cap, max_columns, _cell = limits()
    delimiter = _sniff_delimiter(text[:10000])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            _check_row(row, reader.line_num, max_columns)
            rows.append(row[:max_columns])
            if max_rows is not None and len(rows) > max_rows + 1:  # header, max_rows, one more
                break
            if len(rows) > row_cap + 1:
                raise ImportFileError(f"The file has more than {row_cap:,} rows; split it into smaller files.")
    except csv.Error as exc:
        if truncated and rows:
            pass  # the prefix ended inside a quoted cell: keep the rows before it
        else:
            raise ImportFileError(f"The file is not valid CSV (check quotes and line breaks): {exc}") from exc
    if not rows:
        raise ImportFileError("The file is empty.")
    return Table(header=[h.strip() for h in rows[0]], rows=rows[1:])


def _xlsx_guard(archive: zipfile.ZipFile) -> None:
    members = archive.infolist()
    if len(members) > MAX_XLSX_MEMBERS:
        raise ImportFileError("The workbook holds an implausible number of parts; it was not read.")
    # The declared sizes bound what zipfile will inflate (it stops at file_size), so they can be trusted.
    total = sum(info.file_size for info in members)
    compressed = sum(info.compress_size for info in members) or 1
    if total > MAX_XLSX_UNCOMPRESSED or (total > MAX_XLSX_RATIO_FLOOR and total / compressed > MAX_XLSX_RATIO):
        raise ImportFileError("The workbook expands to an implausible size (a zip bomb?); it was not read.")
    if "[Content_Types].xml" not in {info.filename for info in members}:
        raise ImportFileError("The file is a ZIP archive but not an XLSX workbook.")


def read_xlsx(data: bytes | Path, kind: str = "", *, max_rows: int | None = None) -> Table:
    """The first sheet (or the one named like ``kind``) as a table, bounded in rows, columns and size."""
    source = data if isinstance(data, Path) else io.BytesIO(data)
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise ImportFileError("The file is not a valid XLSX workbook.") from exc
    with archive:
        _xlsx_guard(archive)
    from openpyxl import load_workbook

    if isinstance(source, io.BytesIO):
        source.seek(0)
    try:
        # data_only=False: a formula arrives as its text (=SUM(...)), never as a computed value.
        wb = load_workbook(source, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise ImportFileError(f"The XLSX workbook cannot be read: {exc}") from exc
    row_cap, max_columns, _cell = limits()
    try:
        wanted = normalise_header(kind)
        sheet = next((ws for ws in wb.worksheets if normalise_header(ws.title) == wanted), wb.worksheets[0])
        rows: list[list[str]] = []
        # A sheet may declare a dimension up to XFD1048576; read-only openpyxl would pad every row to it.
        # Forget the declared dimension: each row then ends at its last stored cell.
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()
        for index, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = ["" if v is None else _xlsx_cell(v) for v in values]
            while cells and not cells[-1].strip():
                cells.pop()  # the padding up to max_col or the sheet's declared dimension
            if not cells:
                continue
            _check_row(cells, index, max_columns)
            rows.append(cells[:max_columns])
            if max_rows is not None and len(rows) > max_rows + 1:  # header, max_rows, one more
                break
            if len(rows) > row_cap + 1:
                raise ImportFileError(f"The sheet has more than {row_cap:,} rows; split it into smaller files.")
    except ImportFileError:
        raise
    except Exception as exc:  # a broken sheet part
        raise ImportFileError(f"The XLSX workbook cannot be read: {exc}") from exc
    finally:
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


def read_table(source: str | Path | bytes, *, kind: str = "", filename: str = "", max_rows: int | None = None
               ) -> Table:
    """Read a CSV/TSV/XLSX file (a path or bytes) as a table; the size is checked before reading.

    With ``max_rows`` (a preview) only the first rows are parsed: of a CSV/TSV path only its first
    ``PREVIEW_BYTES`` are read, an XLSX sheet is streamed and left after those rows.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ImportFileError(f"Cannot read {path}: {exc.strerror}") from exc
        check_size(size, kind)
        if size == 0:
            raise ImportFileError("The file is empty.")
        filename = filename or path.name
        with path.open("rb") as fh:
            head = fh.read(4)
            if head == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
                return read_xlsx(path, kind, max_rows=max_rows)
            fh.seek(0)
            if max_rows is not None and size > PREVIEW_BYTES:
                return read_delimited(fh.read(PREVIEW_BYTES), max_rows=max_rows, truncated=True)
            return read_delimited(fh.read(), max_rows=max_rows)
    data = bytes(source)
    check_size(len(data), kind)
    if not data:
        raise ImportFileError("The file is empty.")
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        return read_xlsx(data, kind, max_rows=max_rows)
    return read_delimited(data, max_rows=max_rows)


# ---------------------------------------------------------------------------------------------
# Values


def clean(value: Any) -> str:
    return "" if value is None else str(value).strip()


TRUE = {"yes", "y", "true", "t", "1", "x", "on", "ja"}
FALSE = {"no", "n", "false", "f", "0", "", "off", "nein"}


def parse_bool(value: Any, *, default: bool | None = None, column: str = "") -> bool:
    """yes/no, true/false, 1/0, x/empty (and a few synonyms), any case."""
    text = clean(value).lower()
    if text == "" and default is not None:
        return default
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise RowError("value.boolean", f"{clean(value)[:40]!r} is not yes/no", column)


MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2199, 12, 31)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A datetime as spreadsheets and ERPs write it: the date, a time, an optional offset; nothing else.
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$")


def parse_date(value: Any, *, fmt: str = "", column: str = "") -> dt.date | None:
    """A date: ISO ``YYYY-MM-DD`` (or an ISO date-time, whose time is dropped), or ``fmt``.

    Nothing may trail the date, and it must lie between 1900-01-01 and 2199-12-31.
    """
    text = clean(value)
    if not text:
        return None
    bad = RowError("value.date", f"{text[:40]!r} is not a date" + (f" ({fmt})" if fmt else " (YYYY-MM-DD)"), column)
    if not text.isascii():
        raise bad
    try:
        if fmt:
            day = dt.datetime.strptime(text, fmt).date()
        elif _ISO_DATE.match(text):
            day = dt.date.fromisoformat(text)
        elif _ISO_DATETIME.match(text):
            day = dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        else:
            raise bad
    except ValueError:
        raise bad from None
    if not MIN_DATE <= day <= MAX_DATE:
        raise RowError("value.date_range", f"{day.isoformat()} is outside {MIN_DATE.year}–{MAX_DATE.year}", column)
    return day


_SPACES = re.compile(r"[ \u00a0\u202f\u2009']")  # thousands spacing: space, NBSP, narrow NBSP, thin, '
_NUMBER = {
    ".": re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$"),
    ",": re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$"),
}
MAX_DIGITS = 30


def parse_decimal(value: Any, *, column: str = "", decimal_separator: str = ".") -> Decimal | None:
    """A decimal number written with ASCII digits and one decimal separator (``.`` by default, ``,``
    where a profile says so). Thousands separators are accepted only in groups of three (``1,500``),
    so ``1,5`` is refused rather than read as 15; no exponent (``1e3``), no other digits."""
    text = _SPACES.sub("", clean(value))
    if not text:
        return None
    sep = "," if decimal_separator == "," else "."
    if not text.isascii() or len(text) > MAX_DIGITS * 2 or not _NUMBER[sep].match(text):
        raise RowError("value.number", f"{clean(value)[:40]!r} is not a number (decimal separator {sep!r})", column)
    if sep == ",":
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    number = Decimal(text)
    if len(number.as_tuple().digits) > MAX_DIGITS:
        raise RowError("value.number", f"{clean(value)[:40]!r} has too many digits", column)
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
    """Import every installed app's ``importers`` module so their kinds register themselves."""
    autodiscover_modules("importers")
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
    rows, refused = screen_rows(rows)
    result = spec.importer(
        tenant=tenant, rows=rows, as_of=as_of or dt.date.today(), actor=actor, job=job, profile=profile,
        source=source, filename=filename,
    )
    for row_no, code, message, column in refused:
        # Refused before the importer saw them: nothing of these rows was written.
        result.read += 1
        result.reject(row_no, code, message, column)
    result.unknown_columns = unknown
    if recompute and tenant is not None and result.extra.get("affects_engine", True) and (
        result.created or result.updated or result.deleted
    ):
        # An importer that knows exactly which consumers it touched says so in extra["changed"]
        # (``{"devices": ids, "persons": ids, ...}``); without it the change is a full one.
        changes_record(tenant=tenant, changed=result.extra.get("changed"), reason=f"import {kind}", actor=actor,
                       as_of=as_of)
    if tenant is not None and (result.created or result.updated or result.deleted):
        # Apps react to imports of data they read through ``import.finished`` hooks (receiving
        # revalidates its queue after catalog, persons, cost centers and contracts imports).
        hook_run("import.finished", kind=kind, tenant=tenant, actor=actor, result=result)
    return result


def screen_rows(rows: list[tuple[int, dict[str, str]]]
                ) -> tuple[list[tuple[int, dict[str, str]]], list[tuple[int, str, str, str]]]:
    """Split off rows no importer should see: a cell longer than SAM_MAX_CELL_CHARS, or holding a
    NUL or another control character (PostgreSQL refuses NUL in text). Returns (kept rows, refusals as
    (row number, code, message, column))."""
    _rows, _cols, max_chars = limits()
    kept, refused = [], []
    for row_no, row in rows:
        problem = None
        for column, text in row.items():
            if len(text) > max_chars:
                problem = (row_no, "value.too_long", f"{len(text):,} characters; at most {max_chars:,} per cell",
                           column)
                break
            if _CONTROL.search(text):
                problem = (row_no, "value.control_character", "the cell holds a NUL or another control character",
                           column)
                break
        if problem:
            refused.append(problem)
        else:
            kept.append((row_no, row))
    return kept, refused


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

def iter_chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
