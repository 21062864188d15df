"""``export_data entitlements``: one row per entitlement, the same rows the list page exports."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from entitlements.models import Entitlement, Repository
from sam.exporting import ExportData, register_export

HEADER = ("id", "type", "status", "publisher", "product", "version", "edition", "sku", "license_model", "metric",
          "quantity", "units", "total", "term", "start_date", "end_date", "unit_cost", "currency", "cost",
          "contract", "invoice", "po", "supplier", "purchase_line", "errors", "warnings", "repository",
          "identifier", "management_group")


def entitlement_row(e: Entitlement) -> list[Any]:
    return [
        e.pk, e.type, e.state, e.display_vendor, e.display_title, e.display_version, e.display_edition, e.sku,
        e.license_model, e.metric_label if e.metric else "", e.quantity, e.units, e.total, e.term, e.start_date,
        e.end_date, e.unit_cost, e.currency, e.cost, e.contract.number if e.contract_id else "", e.invoice_number,
        e.po_number, e.supplier, f"{e.purchase_line.batch_id}:{e.purchase_line.row_number}" if e.purchase_line_id
        else "", ",".join(e.errors or []), ",".join(e.warnings or []), e.repository.name, e.identifier,
        e.management_group.name if e.management_group_id else "",
    ]


def entitlement_rows(queryset: Iterable[Entitlement]) -> Iterator[list[Any]]:
    """Rows in id order whatever the queryset's sort: the filter decides what, never the order."""
    qs = (queryset.order_by("pk")
          .select_related("product__publisher", "contract", "purchase_line", "repository", "management_group"))
    for e in qs.iterator(chunk_size=2000):
        yield entitlement_row(e)


@register_export("entitlements")
def export_entitlements(*, tenant, as_of, params) -> ExportData:
    """Every entitlement of the tenant (or of ``params['repository']``, a name or id), draft or published."""
    qs = Entitlement.objects.filter(tenant=tenant)
    repo = (params or {}).get("repository")
    if repo:
        found = Repository.objects.filter(tenant=tenant, name=repo).first()
        if found is None and str(repo).isdigit():
            found = Repository.objects.filter(tenant=tenant, pk=int(repo)).first()
        qs = qs.filter(repository=found) if found else qs.none()
    return ExportData(header=HEADER, rows=entitlement_rows(qs), title="entitlements")
