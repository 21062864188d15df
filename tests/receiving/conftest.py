"""Fixtures of the receiving suite: a small catalog, organisation data and contracts, and helpers to
receive lines the way the importer, the upload and the API do."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django_scopes import scope

from catalog.models import LicenseModel, Product, Publisher, Sku
from entitlements.models import Contract
from inventory.models import CostCenter, Person
from receiving.services import receiving_receive

HEADER = ("sku", "description", "publisher", "quantity", "unit_price", "currency", "po_number", "po_line",
          "order_date", "contract_number", "cost_center", "requester_email", "supplier", "start_date", "end_date")


@pytest.fixture
def catalog(db):
    """Master SKUs: a full license, a 2-core pack, a 12-month subscription, a maintenance without term."""
    contoso = Publisher.objects.create(name="Contoso")
    fabrikam = Publisher.objects.create(name="Fabrikam")
    for name in ("Per Device", "Per Core", "Named User"):
        LicenseModel.objects.create(name=name)
    draw = Product.objects.create(publisher=contoso, title="Draw", version="2024", edition="Pro")
    db_ = Product.objects.create(publisher=fabrikam, title="DB", version="10", edition="Enterprise")
    chat = Product.objects.create(publisher=contoso, title="Chat", version="5", edition="Team")
    skus = {
        "CD-24P": Sku.objects.create(part_number="CD-24P", product=draw, license_type="full", license_model="Per Device"),
        "FDB-2C": Sku.objects.create(part_number="FDB-2C", product=db_, license_type="full", license_model="Per Core",
                                     units=Decimal(2)),
        "CHAT-12": Sku.objects.create(part_number="CHAT-12", product=chat, license_type="subscription",
                                      license_model="Named User", term_months=12),
        "CD-MAINT": Sku.objects.create(part_number="CD-MAINT", product=draw, license_type="maintenance",
                                       license_model="Per Device"),
    }
    return {"contoso": contoso, "fabrikam": fabrikam, "products": {"draw": draw, "db": db_, "chat": chat}, "skus": skus}


@pytest.fixture
def org(tenant_a, catalog):
    """Tenant A's cost centers, persons and contracts."""
    with scope(tenant=tenant_a):
        c1 = CostCenter.objects.create(tenant=tenant_a, code="C1", name="Operations")
        CostCenter.objects.create(tenant=tenant_a, code="C2", name="Finance")
        Person.objects.create(tenant=tenant_a, username="ann", email="ann@example.test", status="active", cost_center=c1)
        Person.objects.create(tenant=tenant_a, username="ben", email="ben@example.test", status="inactive")
        Contract.objects.create(tenant=tenant_a, number="K-1", publisher=catalog["contoso"],
                                start_date=dt.date(2024, 1, 1), end_date=dt.date(2027, 12, 31))
        Contract.objects.create(tenant=tenant_a, number="K-2", publisher=catalog["fabrikam"],
                                start_date=dt.date(2024, 1, 1), end_date=dt.date(2027, 12, 31))
    return tenant_a


def line(**overrides) -> dict[str, str]:
    """A clean line for CD-24P; override any canonical column."""
    base = {"sku": "CD-24P", "description": "Contoso Draw", "publisher": "Contoso", "quantity": "1",
            "unit_price": "300.00", "currency": "EUR", "po_number": "PO-1", "po_line": "1", "order_date": "2026-02-01",
            "contract_number": "K-1", "cost_center": "C1", "requester_email": "ann@example.test",
            "supplier": "Demo Reseller", "start_date": "", "end_date": ""}
    base.update(overrides)
    return base


def receive(tenant, lines, *, actor="test", **kwargs):
    """Receive lines (dicts) as rows 2..n+1, inside the tenant's scope."""
    with scope(tenant=tenant):
        return receiving_receive(tenant=tenant, actor=actor, rows=[(i + 2, v) for i, v in enumerate(lines)],
                                 source="command", filename="test.csv", **kwargs)


def csv_text(lines, header=HEADER, sep=",") -> str:
    rows = [sep.join(header)]
    for values in lines:
        rows.append(sep.join(values.get(h, "") for h in header))
    return "\n".join(rows) + "\n"


@pytest.fixture(autouse=True)
def recomputes(monkeypatch):
    """Record the drains the recorded change events ask for (their reasons) instead of running the engine."""
    calls: list[str] = []

    def fake(*, tenant, reason="", actor=None, as_of=None):
        calls.append(reason)

    monkeypatch.setattr("sam.changes._drain_handler", fake)
    return calls
