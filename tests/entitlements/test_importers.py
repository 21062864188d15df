"""The ``contracts`` and ``entitlements`` import kinds: set-based, row-level reasons, idempotent."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django_scopes import scope, scopes_disabled

from catalog.models import Publisher
from entitlements.models import Contract, Entitlement, State, Status
from sam.importing import import_file
from sam.models import AuditEvent
from tests.entitlements.factories import ProductFactory, SkuFactory

pytestmark = pytest.mark.django_db

ACCEPTANCE = Path("/work/shared/acceptance/estate-demo/contracts.csv")


def test_contracts_import_creates_publishers_and_is_idempotent(tenant_a):
    data = (b"Agreement Number;Publisher;Name;Start_Date;End_Date\n"
            b"EA-1;Contoso;Contoso Select;2024-01-01;2027-12-31\n"
            b"EA-2;Fabrikam;;2024-01-01;\n"
            b";Nobody;Missing number;;\n"
            b"EA-3;Contoso;Backwards;2025-01-01;2024-01-01\n"
            b"EA-4;Contoso;Bad date;01/02/2024;\n")
    with scope(tenant=tenant_a):
        result = import_file(kind="contracts", source=data, tenant=tenant_a, filename="c.csv")
        assert (result.created, result.updated, result.rejected) == (2, 0, 3)
        assert any("Row 4" in e and "number.missing" in e for e in result.errors)
        assert any("Row 5" in e and "dates.end_before_start" in e for e in result.errors)
        assert any("Row 6" in e and "value.date" in e for e in result.errors)
        ea1 = Contract.objects.get(number="EA-1")
        assert ea1.publisher.name == "Contoso" and ea1.end_date == dt.date(2027, 12, 31)
        assert ea1.publisher.introduced_by == tenant_a or Publisher.objects.filter(name="Contoso").count() == 1
        again = import_file(kind="contracts", source=data, tenant=tenant_a, filename="c.csv")
        assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
        changed = import_file(kind="contracts", source=b"number,name\nEA-2,Renamed\n", tenant=tenant_a)
        assert changed.updated == 1 and Contract.objects.get(number="EA-2").name == "Renamed"
        assert AuditEvent.objects.filter(action="entitlements.contract.imported").count() == 2


@pytest.mark.skipif(not ACCEPTANCE.exists(), reason="acceptance files not present")
def test_the_acceptance_contracts_file_imports_without_rejections(tenant_a):
    with scope(tenant=tenant_a):
        result = import_file(kind="contracts", source=ACCEPTANCE, tenant=tenant_a)
    assert result.rejected == 0 and result.created == len(ACCEPTANCE.read_text().strip().splitlines()) - 1


def test_entitlements_import_resolves_products_skus_and_agreements(tenant_a, django_assert_max_num_queries):
    with scopes_disabled():
        product = ProductFactory(publisher__name="Microsoft", title="Visio", version="2021", edition="Professional")
        SkuFactory(part_number="D87-07425", product=product, units=Decimal(1))
    with scope(tenant=tenant_a):
        Contract.objects.create(tenant=tenant_a, number="EA-1")
        rows = ["publisher,product,version,edition,sku,type,quantity,units,entitlement_type,start_date,end_date,"
                "unit_cost,currency,status,contract_number,invoice_number,identifier"]
        for i in range(40):
            rows.append(f"Microsoft,Visio,2021,Professional,,license,{i + 1},1,perpetual,2024-01-01,,10,EUR,"
                        f"published,EA-1,INV-{i},")
        rows += [
            ",,,,D87-07425,license,5,,,2024-01-01,,12,EUR,published,,,VIS-SKU",
            ",,,,NOPE-1,license,5,,,,,,,,,,",
            "Microsoft,Visio,2021,Professional,,license,-3,,,,,,,,,,",
            "Microsoft,Visio,2021,Professional,,license,3,,,,,,,published,NO-SUCH,,",
            "Microsoft,Visio,2021,Professional,,maintenance,,,subscription,2024-01-01,2026-01-01,,,published,,,M-1",
            "Acme,Widget,1,,,licence,3,,,,,,,,,,",
        ]
        data = ("\n".join(rows) + "\n").encode()
        with django_assert_max_num_queries(60):
            result = import_file(kind="entitlements", source=data, tenant=tenant_a, recompute=False)
        assert result.created == 42, result.summary()
        assert result.rejected == 4
        codes = " ".join(result.errors)
        for code in ("sku.unknown", "quantity.negative", "contract.unknown", "type.invalid"):
            assert code in codes
        assert Entitlement.objects.filter(status=Status.PUBLISHED).count() == 41
        maint = Entitlement.objects.get(identifier="M-1")
        assert maint.status == Status.DRAFT and maint.state == State.DRAFT_ERRORS and "quantity.missing" in maint.errors
        by_sku = Entitlement.objects.get(identifier="VIS-SKU")
        assert by_sku.product == product and by_sku.from_sku
        again = import_file(kind="entitlements", source=data, tenant=tenant_a, recompute=False)
        assert again.created == 0 and again.unchanged == 42
        assert Entitlement.objects.count() == 42
