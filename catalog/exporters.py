"""``export_data catalog``: the catalog as the tenant sees it, in the format the catalog import reads."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from catalog.selectors import product_terms_effective, products_visible, skus_effective
from sam.exporting import ExportData, register_export

CATALOG_HEADER = (
    "publisher", "product", "version", "edition", "sku", "sku_description", "license_type", "license_model", "units",
    "term_months", "version_downgrade", "version_upgrade", "edition_downgrade", "release_date",
    "min_entitlement_days", "confirmation", "second_copy", "multi_instance", "list_price", "currency", "source",
)


def catalog_rows(*, tenant) -> Iterator[list[Any]]:
    """One row per effective SKU, and one per visible product that has no SKU (then the model is its default)."""
    products = {p.pk: p for p in products_visible(tenant=tenant).select_related("publisher")}
    skus = skus_effective(tenant=tenant)
    terms = product_terms_effective(tenant=tenant, product_ids=list(products))
    by_product: dict[int, list] = {}
    for sku in skus.values():
        if sku.product_id in products:
            by_product.setdefault(sku.product_id, []).append(sku)
    for product in sorted(products.values(), key=lambda p: (p.publisher.name.lower(), p.title.lower(),
                                                             p.version_sort, p.edition.lower())):
        t = terms[product.pk]
        head = [product.publisher.name, product.title, product.version, product.edition]
        tail = [t.release_date or product.release_date, t.min_entitlement_days, t.confirmation, t.second_copy, t.multi_instance]
        for sku in sorted(by_product.get(product.pk, []), key=lambda s: s.part_number):
            yield [*head, sku.part_number, sku.description, sku.license_type, sku.license_model, sku.units,
                   sku.term_months, sku.version_downgrade, sku.version_upgrade, sku.edition_downgrade, *tail,
                   sku.list_price, sku.currency, "tenant" if sku.is_tenant else "master"]
        if product.pk not in by_product:
            yield [*head, "", "", "", t.default_license_model, "", "", t.version_downgrade, t.version_upgrade,
                   t.edition_downgrade, *tail, "", "", "tenant" if (t.is_tenant or product.introduced_by_id) else "master"]


@register_export("catalog")
def export_catalog(*, tenant, as_of: dt.date, params: dict) -> ExportData:
    return ExportData(header=CATALOG_HEADER, rows=catalog_rows(tenant=tenant), title="catalog")
