"""The ``procurement`` import kind: purchase lines from a procurement system or a reseller's report.

``vendor`` is ambiguous: procurement systems use it for the party that sells (the supplier), some
reseller reports for the manufacturer. The rule: ``manufacturer``/``publisher`` always mean the
publisher and ``reseller``/``supplier`` the supplier; a ``vendor`` column is the supplier, unless the
file already has a supplier column and no publisher column, then it is the publisher. With both
present it is ignored (and named among the unknown columns); a profile can map it by hand.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from receiving.validation import Options
from sam.changes import changes_drain_request
from sam.importing import (
    KIND_MAX_BYTES,
    KINDS,
    ImportFileError,
    ImportResult,
    Kind,
    Table,
    normalise_header,
    read_table,
    register_kind,
)

KIND = "procurement"
REQUIRED = ("sku", "quantity")
COLUMNS: dict[str, tuple[str, ...]] = {
    "sku": ("part number", "part no", "mpn", "manufacturer part number", "article number", "sku number"),
    "description": ("item description", "product description", "sku description"),
    "publisher": ("manufacturer", "publisher name", "manufacturer name"),
    "quantity": ("qty", "amount ordered", "ordered quantity"),
    "unit_price": ("price", "unit cost", "net price"),
    "currency": ("currency code", "cur"),
    "po_number": ("purchase order", "po number", "po", "order number"),
    "po_line": ("po line number", "po item", "line", "line number"),
    "order_date": ("po date", "ordered on"),
    "invoice_number": ("invoice", "invoice no"),
    "invoice_date": (),
    "contract_number": ("agreement number", "contract", "agreement", "contract no"),
    "cost_center": ("cost centre", "costcenter", "cc"),
    "requester_email": ("email", "requester", "requestor", "requester e-mail", "e-mail"),
    "supplier": ("reseller", "supplier name", "reseller name"),
    "start_date": ("valid from", "term start"),
    "end_date": ("valid to", "term end"),
}
VENDOR = normalise_header("vendor")


class ProcurementKind(Kind):
    """The kind with the ``vendor`` rule of this module's docstring on top of the synonym lookup."""

    def header_map(self, header: list[str]) -> tuple[dict[int, str], list[str]]:
        vendor_at = [i for i, h in enumerate(header) if normalise_header(h) == VENDOR]
        rest = ["" if i in vendor_at else h for i, h in enumerate(header)]
        mapping, unknown = super().header_map(rest)
        for index in vendor_at[:1]:
            mapped = set(mapping.values())
            if "supplier" not in mapped:
                mapping[index] = "supplier"
            elif "publisher" not in mapped:
                mapping[index] = "publisher"
            else:
                unknown.append(header[index].strip())
        unknown += [header[i].strip() for i in vendor_at[1:]]
        return mapping, unknown


def _profile(profile: Any, tenant) -> Any:
    from receiving.models import ImportProfile

    if profile is None or profile == "":
        return None
    if isinstance(profile, ImportProfile):
        return profile
    found = ImportProfile.objects.filter(name=str(profile)).first()
    if found is None:
        names = ", ".join(ImportProfile.objects.values_list("name", flat=True)) or _("none yet")
        raise ImportFileError(_("No import profile named “%(p)s” (profiles: %(n)s).") % {"p": profile, "n": names})
    return found


def header_mapping(header: list[str], mapping: dict[str, str] | None = None) -> dict[int, str]:
    """Column index -> canonical column: detected from the synonyms, then the given mapping on top.

    ``mapping`` is {header text: canonical column}; an empty canonical column ignores that header.
    """
    auto, _unknown = KINDS[KIND].header_map(header)
    if not mapping:
        return auto
    wanted = {normalise_header(k): v for k, v in mapping.items()}
    out = dict(auto)
    for index, text in enumerate(header):
        key = normalise_header(text)
        if key in wanted:
            canonical = wanted[key]
            out.pop(index, None)
            if canonical in COLUMNS:
                for other in [i for i, c in out.items() if c == canonical]:
                    out.pop(other)
                out[index] = canonical
    return out


def table_rows(table: Table, index_map: dict[int, str]) -> list[tuple[int, dict[str, str]]]:
    """The table's rows as (row number, {canonical: text}); row 1 is the header."""
    return [(number, {c: (row[i].strip() if i < len(row) else "") for i, c in index_map.items()})
            for number, row in enumerate(table.rows, start=2)]


def receive_upload(*, tenant, actor, data: bytes, filename: str, mapping: dict[str, str] | None,
                   profile=None, options: Options | None = None, job=None):
    """The browser's path: read the uploaded file with the admin's mapping and receive its lines.

    Raises ImportFileError (nothing written) when the file cannot be read or lacks required columns.
    """
    from receiving.services import check_file_size, receiving_receive

    check_file_size(len(data))
    table = read_table(data, kind=KIND, filename=filename)
    rows = table_rows(table, header_mapping(table.header, mapping))
    require_columns(rows)
    progress = None
    if job is not None:
        from sam.jobs import job_progress

        def progress(percent: int, message: str) -> None:
            job_progress(job=job, progress=percent, message=message)

    outcome = receiving_receive(tenant=tenant, actor=actor, rows=rows, source=_source_kind(actor), filename=filename,
                                file_bytes=data, options=options or Options(), profile=profile, progress=progress,
                                recompute=False)
    if outcome.transferred:
        # Each transferred chunk recorded its entitlements as a change event; apply them once.
        changes_drain_request(tenant=tenant, reason="procurement upload", actor=actor, only_if_pending=True)
    return outcome


def require_columns(rows: list[tuple[int, dict[str, str]]]) -> None:
    """A procurement file needs lines, and a part number and quantity column."""
    if not rows:
        raise ImportFileError(_("The file has a header row but no purchase lines."))
    missing = [c for c in REQUIRED if c not in rows[0][1]]
    if missing:
        looked = "; ".join(f"{c}: {', '.join((c, *COLUMNS[c]))}" for c in missing)
        raise ImportFileError(_("The file has no %(cols)s column (looked for %(looked)s). Map the columns by hand "
                                "in the upload, or save an import profile.") % {"cols": ", ".join(missing),
                                                                               "looked": looked})


@register_kind(KIND, columns=COLUMNS, required=(), description="purchase lines for receiving inspection")
def import_procurement(*, tenant, rows, as_of: dt.date, actor, job=None, profile=None, source=None, filename: str = "",
                       mapping: dict[str, str] | None = None, **_ignored) -> ImportResult:
    """Stage the file's lines in receiving inspection; clean lines become entitlements at once."""
    from receiving.services import check_file_size, receiving_receive

    chosen = _profile(profile, tenant)
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        path = Path(source)
        filename = filename or path.name
        data = path.read_bytes()
    check_file_size(len(data))
    override = {**(chosen.mapping if chosen else {}), **(mapping or {})}
    if override:
        table = read_table(data, kind=KIND, filename=filename)
        rows = table_rows(table, header_mapping(table.header, override))
    require_columns(rows)
    options = Options(date_format=chosen.date_format if chosen else "",
                      decimal_separator=chosen.decimal_separator if chosen else ".",
                      default_currency=chosen.default_currency if chosen else "")
    progress = None
    if job is not None:
        from sam.jobs import job_progress

        def progress(percent: int, message: str) -> None:
            job_progress(job=job, progress=percent, message=message)

    outcome = receiving_receive(tenant=tenant, actor=actor, rows=rows, source=_source_kind(actor), filename=filename,
                                file_bytes=data, options=options, profile=chosen, progress=progress,
                                recompute=False)  # import_file asks for the recompute (affects_engine)
    result = ImportResult(kind=KIND, read=outcome.read, created=outcome.created, unchanged=outcome.skipped,
                          waiting=outcome.waiting, errors=outcome.errors)
    result.extra.update({"transferred": outcome.transferred, "batch": outcome.batch.pk if outcome.batch else None,
                         "affects_engine": outcome.transferred > 0, "reasons": dict(outcome.reasons)})
    if outcome.transferred:
        result.extra["summary_note"] = f"{outcome.transferred} transferred to entitlements"
    return result


def _source_kind(actor: Any) -> str:
    from receiving.models import BatchSource

    return BatchSource.UPLOAD if hasattr(actor, "username") else BatchSource.COMMAND


def _max_bytes() -> int:
    from receiving.services import max_file_bytes

    return max_file_bytes()


KIND_MAX_BYTES[KIND] = _max_bytes
KINDS[KIND] = ProcurementKind(**{k: getattr(KINDS[KIND], k) for k in
                                 ("name", "columns", "importer", "master", "required", "description")})
