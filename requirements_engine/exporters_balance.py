"""Exports of the compliance balance: ``balance``, ``allocation`` and the auditor's pack (a zip).

``requirements_engine/exporters.py`` imports this module so the registry finds them.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

from sam.exporting import ExportData, export, load_exports, register_export
from sam.models import Tenant

BALANCE_COLUMNS = ["publisher", "product", "version", "edition", "license_model", "metric", "required", "purchased",
                   "covered", "shortfall", "surplus", "status", "unconfirmed", "shortfall_cost", "expiring", "as_of"]
ALLOCATION_COLUMNS = ["as_of", "publisher", "product", "version", "edition", "license_model", "rule", "units",
                      "entitlement_id", "license_publisher", "license_product", "license_version",
                      "license_edition", "license_model_of_license", "sku", "po_number", "invoice_number",
                      "end_date"]


def plain(value: Decimal | None) -> Decimal | None:
    """A number without trailing zeros (4, not 4.0000; 2.5 stays 2.5)."""
    if value is None:
        return None
    value = Decimal(value)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def balance_export_rows(rows) -> list[list]:
    return [[r.product.publisher.name, r.product.title, r.product.version, r.product.edition, r.license_model,
             r.metric, plain(r.required), plain(r.purchased), plain(r.covered), plain(r.shortfall), plain(r.surplus),
             r.status, plain(r.unconfirmed), plain(r.shortfall_cost), plain(r.expiring), r.as_of] for r in rows]


@register_export("balance")
def export_balance(*, tenant: Tenant, as_of: dt.date, params: dict) -> ExportData:
    """One row per license position on ``as_of``: the stored snapshot of that day; a day without one is
    computed in memory and not stored (a read never writes)."""
    from requirements_engine.selectors_balance import balance_rows, balance_rows_for_export, rows_filtered

    repository = params.get("repository")
    if repository is not None:
        rows = balance_rows(tenant=tenant, as_of=as_of, repository=repository)
    else:
        rows = balance_rows_for_export(tenant=tenant, as_of=as_of)
    rows = rows_filtered(rows, **{k: params.get(k, "") for k in ("publisher", "product", "license_model", "status")})
    return ExportData(header=BALANCE_COLUMNS, rows=balance_export_rows(rows), title="balance")


@register_export("allocation")
def export_allocation(*, tenant: Tenant, as_of: dt.date, params: dict) -> ExportData:
    """Which license covers which position on ``as_of``, how many units, and by which rule.

    The stored allocation of that day; a day without a snapshot is computed in memory (not stored).
    """
    from requirements_engine.models import Allocation
    from requirements_engine.selectors_balance import balance_day_stored

    if not balance_day_stored(tenant=tenant, as_of=as_of):
        return _allocation_computed(tenant=tenant, as_of=as_of)
    qs = (Allocation.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True)
          .select_related("product__publisher", "entitlement__product__publisher")
          .order_by("product__publisher__name", "product__title", "product__version_sort", "product__edition",
                    "license_model", "entitlement_id"))

    def rows():
        for a in qs.iterator(chunk_size=2000):
            p, e = a.product, a.entitlement
            lp = e.product
            yield [a.as_of, p.publisher.name, p.title, p.version, p.edition, a.license_model, a.rule, plain(a.units),
                   e.pk, lp.publisher.name if lp else "", lp.title if lp else "", lp.version if lp else "",
                   lp.edition if lp else "", e.license_model, e.sku, e.po_number, e.invoice_number, e.end_date]

    return ExportData(header=ALLOCATION_COLUMNS, rows=rows(), title="allocation")


def _allocation_computed(*, tenant: Tenant, as_of: dt.date) -> ExportData:
    from catalog.models import Product
    from entitlements.models import Entitlement
    from requirements_engine.balance import balance_evaluate

    lines = balance_evaluate(tenant=tenant, as_of=as_of).allocations
    ents = Entitlement.objects.select_related("product__publisher").in_bulk({a.entitlement_id for a in lines})
    products = Product.objects.select_related("publisher").in_bulk({a.product_id for a in lines})
    rows = []
    for a in lines:
        p, e = products[a.product_id], ents[a.entitlement_id]
        lp = e.product
        rows.append([a.as_of, p.publisher.name, p.title, p.version, p.edition, a.license_model, a.rule, plain(a.units),
                     e.pk, lp.publisher.name if lp else "", lp.title if lp else "", lp.version if lp else "",
                     lp.edition if lp else "", e.license_model, e.sku, e.po_number, e.invoice_number, e.end_date])
    rows.sort(key=lambda r: (r[1], r[2], r[3], r[4], r[5], r[8]))
    return ExportData(header=ALLOCATION_COLUMNS, rows=rows, title="allocation")


def requirement_history_export_rows(*, tenant: Tenant, as_of: dt.date):
    """``export_data requirements`` for a past day: the requirement versions valid on ``as_of``.

    Same columns and order as the export of the stored requirements (two queries).
    """
    from requirements_engine.history import history_on
    from requirements_engine.models import ConfirmationState
    from requirements_engine.selectors_requirements import KIND_LABELS, format_quantity, format_values

    rows = list(history_on(tenant=tenant, as_of=as_of).select_related("product__publisher"))
    rows.sort(key=lambda h: (h.product.publisher.name.lower(), h.product.title.lower(), h.product.version,
                             h.product.edition, h.consumer.lower(), h.consumer_type))
    for h in rows:
        founds = []
        for line in filter(None, (h.foundations or "").split("\n")):
            kind, _tab, source = line.partition("\t")
            founds.append(f"{KIND_LABELS.get(kind, kind)}: {source}")
        yield [h.consumer, h.consumer_type, h.product.publisher.name, h.product.title, h.product.version,
               h.product.edition, h.license_model, format_quantity(Decimal(0) if h.is_secondary else h.quantity),
               "yes" if h.confirmation == ConfirmationState.CONFIRMED else "no", h.confirmation,
               "yes" if h.effective else "no", "yes" if h.manual else "no", "yes" if h.is_secondary else "no",
               ", ".join(sorted(filter(None, (h.carried_by or "").split("; ")))), "; ".join(sorted(founds)), h.error,
               h.expression, format_values(h.expression_values), format_quantity(h.core_factor), h.note]


def _proof_export(*, tenant: Tenant, as_of: dt.date) -> ExportData:
    """Counted entitlements with their proof-of-purchase references (used when no richer export exists)."""
    from requirements_engine.coverage import entitlements_counted

    qs = entitlements_counted(tenant=tenant, as_of=as_of).select_related("product__publisher", "contract")
    header = ["id", "type", "publisher", "product", "version", "edition", "license_model", "quantity", "units",
              "start_date", "end_date", "sku", "contract", "po_number", "invoice_number", "supplier", "unit_cost",
              "currency"]
    rows = [[e.pk, e.type, e.product.publisher.name if e.product else "", e.product.title if e.product else "",
             e.product.version if e.product else "", e.product.edition if e.product else "", e.license_model,
             plain(e.quantity), plain(e.units), e.start_date, e.end_date, e.sku, e.contract.number if e.contract else "",
             e.po_number, e.invoice_number, e.supplier, plain(e.unit_cost), e.currency] for e in qs.order_by("id")]
    return ExportData(header=header, rows=rows, title="entitlements")


def _exemptions_export(*, tenant: Tenant, as_of: dt.date) -> ExportData:
    from requirements_engine.selectors_balance import exemptions_list

    header = ["id", "subject", "reason", "expires_on", "active", "created_by", "created_at", "revoked_at"]
    rows = [[e.pk, e.subject, e.reason, e.expires_on, e.is_active_on(as_of),
             e.created_by.username if e.created_by else "", e.created_at, e.revoked_at]
            for e in exemptions_list(tenant=tenant)]
    return ExportData(header=header, rows=rows, title="exemptions")


AUDIT_PACK = ("balance", "requirements", "entitlements", "allocation")


def audit_pack(*, tenant: Tenant, as_of: dt.date, fmt: str = "tsv") -> bytes:
    """A zip of balance, requirements, entitlements (with proof of purchase), allocation and exemptions.

    The as-of date is in every file: in the file name (``balance-2026-06-15.tsv``) and, for XLSX, in
    a preamble row above the header.
    """
    from sam.exports import render, xlsx_bytes

    known = load_exports()
    buffer = io.BytesIO()
    names = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for what in (*AUDIT_PACK, "exemptions"):
            if what == "exemptions":
                data = _exemptions_export(tenant=tenant, as_of=as_of)
            elif what == "entitlements" and what not in known:
                data = _proof_export(tenant=tenant, as_of=as_of)
            elif what not in known:
                continue
            else:
                data = export(what=what, tenant=tenant, as_of=as_of)
            name = f"{what}-{as_of.isoformat()}.{fmt}"
            if fmt == "xlsx":
                payload = xlsx_bytes(data.header, data.rows, title=what,
                                     preamble=[[f"{what} as of", as_of.isoformat(), "tenant", tenant.slug]])
            else:
                payload = render(data.header, data.rows, fmt, title=what)
            zf.writestr(name, payload)
            names.append(name)
        zf.writestr("README.txt", f"Audit pack of {tenant.name} ({tenant.slug}) as of {as_of.isoformat()}.\n"
                                  f"Files: {', '.join(names)}.\n"
                                  "The requirements are those of the as-of day (from the requirement history "
                                  "when that day lies before the last engine run).\n"
                                  "Numbers are license units; the balance counts published, valid licenses of the "
                                  "Default repository that are active on the as-of date.\n")
    return buffer.getvalue()
