from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from catalog.demo import MASTER_DIR, MASTER_KINDS
from catalog.models import LicenseModel, Product, ProductTerms, Sku, TenantProductTerms, TenantSku
from catalog.selectors import product_terms_effective, skus_effective
from sam.exporting import export
from sam.importing import import_file

pytestmark = pytest.mark.django_db
ACCEPTANCE = Path(__file__).resolve().parents[3] / "shared" / "acceptance" / "estate-demo"

MODELS = b"""name,assignment,metric,effective,quantity,rounding
Per Device,device,device,yes,1,
SQL Per Core,ose,core,yes,"max(cores_per_processor, 4) * processors",
Oracle Processor,device,processor,yes,cores * core_factor,position
"""


def _import(kind: str, data: bytes, tenant=None):
    return import_file(kind=kind, source=data, tenant=tenant, filename=f"{kind}.csv", recompute=False)


def test_license_models_import_validates_expressions_and_choices():
    result = _import("license_models", MODELS + b"""Broken,device,device,yes,cores +,
Unknown Name,device,device,yes,sockets * 2,
Bad Assignment,everyone,device,yes,1,
Bad Bool,device,device,perhaps,1,
""")
    assert (result.created, result.rejected) == (3, 4)
    codes = " ".join(result.errors)
    assert "Row 5, quantity: expression.invalid" in codes
    assert "Row 6, quantity: expression.invalid" in codes
    assert "Row 7, assignment: assignment.invalid" in codes
    assert "Row 8, effective: value.boolean" in codes
    assert set(LicenseModel.objects.values_list("name", flat=True)) == {"Per Device", "SQL Per Core",
                                                                       "Oracle Processor"}
    assert LicenseModel.objects.get(name="Oracle Processor").rounding == "position"


def test_a_malformed_catalog_file_rejects_bad_rows_with_reasons_and_writes_the_good_ones():
    _import("license_models", MODELS)
    result = _import("catalog", b"""publisher,product,version,edition,sku,license_model,units,release_date,min_entitlement_days,confirmation
Microsoft,SQL Server,2022,Standard,7NQ-01708,SQL Per Core,2,2022-11-16,0,manual
,Orphan,1,,ORPH-1,Per Device,1,,,
Contoso,Bad Model,1,,BAD-1,No Such Model,1,,,
Contoso,Bad Units,1,,BAD-2,Per Device,two,,,
Contoso,Bad Date,1,,BAD-3,Per Device,1,31.12.2024,,
Contoso,Bad Days,1,,BAD-4,Per Device,1,,-5,
Contoso,Bad Confirmation,1,,BAD-5,Per Device,1,,,sometimes
Contoso,Draw,2024,Pro,,Per Device,,2024-03-01,90,
""")
    assert result.read == 8
    assert result.rejected == 6
    assert result.created == 2
    text = "\n".join(result.errors)
    for expected in ("Row 3, publisher: publisher.missing", "Row 4, license_model: license_model.unknown",
                     "Row 5, units: value.number", "Row 6, release_date: value.date",
                     "Row 7, min_entitlement_days: value.negative", "Row 8, confirmation: confirmation.invalid"):
        assert expected in text
    # None of the bad rows left a trace: no SKU, no product, no publisher.
    assert list(Sku.objects.values_list("part_number", flat=True)) == ["7NQ-01708"]
    assert set(Product.objects.values_list("title", flat=True)) == {"SQL Server", "Draw"}
    sql = Product.objects.get(title="SQL Server")
    sku = Sku.objects.get()
    assert (sku.product_id, sku.units, sku.license_model) == (sql.pk, Decimal(2), "SQL Per Core")
    terms = ProductTerms.objects.get(product=sql)
    # The SKU row gives the product its default model, since it had none.
    assert (terms.default_license_model, terms.confirmation) == ("SQL Per Core", "manual")
    draw = Product.objects.get(title="Draw")
    assert draw.release_date.isoformat() == "2024-03-01"
    assert ProductTerms.objects.get(product=draw).min_entitlement_days == 90


def test_a_sku_row_does_not_replace_an_existing_default_license_model():
    _import("license_models", MODELS)
    _import("catalog", b"publisher,product,version,edition,sku,license_model\nOracle,Database,19c,EE,,Oracle Processor\n")
    _import("catalog", b"publisher,product,version,edition,sku,license_model\nOracle,Database,19c,EE,A1,Per Device\n")
    product = Product.objects.get(title="Database")
    assert ProductTerms.objects.get(product=product).default_license_model == "Oracle Processor"
    assert Sku.objects.get(part_number="A1").license_model == "Per Device"


def test_reimporting_the_same_file_changes_nothing():
    _import("license_models", MODELS)
    data = (MASTER_DIR / "catalog.csv").read_bytes()
    _import("license_models", (MASTER_DIR / "license_models.csv").read_bytes())
    first = _import("catalog", data)
    assert first.rejected == 0 and first.created > 20
    second = _import("catalog", data)
    assert (second.created, second.updated, second.rejected) == (0, 0, 0)
    assert second.unchanged == first.read
    assert second.extra["affects_engine"] is False


def test_a_tenant_catalog_import_writes_amendments_only_where_it_differs(in_tenant_a, tenant_b):
    _import("license_models", MODELS)
    _import("catalog", b"publisher,product,version,edition,sku,license_model,units\nMicrosoft,SQL Server,2022,Standard,7NQ-01708,SQL Per Core,2\n")
    same = _import("catalog", b"publisher,product,version,edition,sku,license_model,units\nMicrosoft,SQL Server,2022,Standard,7NQ-01708,SQL Per Core,2\n",
                   tenant=in_tenant_a)
    assert (same.created, same.updated) == (0, 0)
    assert not TenantSku.objects.exists() and not TenantProductTerms.objects.exists()
    changed = _import("catalog", b"publisher,product,version,edition,sku,license_model,units,min_entitlement_days\nMicrosoft,SQL Server,2022,Standard,7nq-01708,Per Device,4,30\n",
                      tenant=in_tenant_a)
    assert changed.rejected == 0 and changed.updated + changed.created == 1
    assert skus_effective(tenant=in_tenant_a)["7NQ-01708"].units == Decimal(4)
    assert skus_effective(tenant=None)["7NQ-01708"].units == Decimal(2)
    pid = Product.objects.get(title="SQL Server").pk
    assert product_terms_effective(tenant=in_tenant_a, product_ids=[pid])[pid].min_entitlement_days == 30
    assert product_terms_effective(tenant=None, product_ids=[pid])[pid].min_entitlement_days == 0


def test_catalog_import_query_count_does_not_grow_with_the_rows(django_assert_max_num_queries):
    _import("license_models", MODELS)

    def file(n: int, offset: int) -> bytes:
        lines = ["publisher,product,version,edition,sku,license_model,units,release_date"]
        for i in range(offset, offset + n):
            lines.append(f"Pub{i % 7},Title {i},{2000 + i % 25},Std,SKU-{i},Per Device,1,2024-01-01")
        return ("\n".join(lines) + "\n").encode()

    with django_assert_max_num_queries(20):
        _import("catalog", file(10, 0))
    # 40 times the rows: only the INSERT batches (a few hundred rows each) add statements.
    with django_assert_max_num_queries(32):
        result = _import("catalog", file(400, 1000))
    assert result.created == 400
    with django_assert_max_num_queries(20):  # re-import: reads only, nothing to write
        again = _import("catalog", file(400, 1000))
    assert again.unchanged == 400


def test_the_master_reference_catalog_imports_without_rejections():
    for kind in MASTER_KINDS:
        result = import_file(kind=kind, source=MASTER_DIR / f"{kind}.csv", tenant=None, recompute=False)
        assert result.rejected == 0, result.summary()


@pytest.mark.skipif(not ACCEPTANCE.exists(), reason="acceptance files not present")
def test_the_acceptance_catalog_files_import_into_a_tenant_without_rejections(in_tenant_a):
    for kind in ("license_models", "processors", "catalog", "editions", "fingerprints", "group_assignments"):
        result = import_file(kind=kind, source=ACCEPTANCE / f"{kind}.csv", tenant=in_tenant_a, recompute=False)
        assert result.rejected == 0, result.summary()


def test_the_catalog_export_lists_skus_and_products_without_sku(in_tenant_a):
    _import("license_models", MODELS)
    _import("catalog", b"publisher,product,version,edition,sku,license_model,units\n"
                       b"Microsoft,SQL Server,2022,Standard,7NQ-01708,SQL Per Core,2\n"
                       b"Contoso,Draw,2022,Pro,,Per Device,\n")
    data = export(what="catalog", tenant=in_tenant_a, as_of=None)
    rows = [dict(zip(data.header, r, strict=True)) for r in data.rows]
    assert [(r["product"], r["sku"], r["license_model"]) for r in rows] == [
        ("Draw", "", "Per Device"), ("SQL Server", "7NQ-01708", "SQL Per Core")]
    # The export reads back in as a catalog file.
    from sam.exports import render

    again = _import("catalog", render(data.header, [list(r.values()) for r in rows], "csv"))
    assert again.rejected == 0 and again.created == 0


def test_fingerprint_and_assignment_rules_need_a_known_product():
    _import("catalog", b"publisher,product,version,edition\nContoso,Draw,2024,Pro\n")
    result = _import("fingerprints", b"""publisher,name,version,product_publisher,product,product_version,product_edition,classification
Contoso Ltd,Contoso Draw 2024*,*,Contoso,Draw,2024,Pro,
Contoso Ltd,Contoso Paint*,*,Contoso,Paint,1,,
Contoso Ltd,Contoso Updater*,*,,,,,irrelevant
Contoso Ltd,Nothing*,*,,,,,
""")
    assert (result.created, result.rejected) == (2, 2)
    assert "Row 3, product: product.unknown" in " ".join(result.errors)
    assert "Row 5, product: product.missing" in " ".join(result.errors)
    groups = _import("group_assignments", b"group,publisher,product,version,edition\nG1,Contoso,Draw,2024,Pro\nG2,Contoso,Nope,1,\n")
    assert (groups.created, groups.rejected) == (1, 1)
