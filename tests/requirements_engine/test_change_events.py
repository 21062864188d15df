"""Every kind of change names what it changed: entitlements, positions, products, or everything."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from catalog.models import TenantLicenseModel, TenantSku
from catalog.services import amendment_delete, amendment_save
from entitlements import services as entitlement_services
from requirements_engine.confirmations import requirements_confirm
from requirements_engine.engine import recompute_tenant
from requirements_engine.models import Requirement
from requirements_engine.services_balance import exemption_create, exemption_revoke
from sam.models import ChangeEvent
from tests.catalog.factories import ProductFactory
from tests.requirements_engine.factories import DeviceFactory, install, licensed_product

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def record_only(monkeypatch):
    """These tests look at what is recorded; the engine's drain is tested in test_outbox.py."""
    monkeypatch.setattr("sam.changes._drain_handler", None)


def recorded() -> list[tuple[str, list]]:
    out = [(e.kind, e.ids) for e in ChangeEvent.objects.order_by("id")]
    ChangeEvent.objects.all().delete()
    return out


def test_entitlement_edits_name_the_entitlement(in_tenant_a, cast):
    actor = cast["license_manager"]
    data = {"product": ProductFactory(), "quantity": 10, "unit_cost": Decimal("5"), "currency": "EUR",
            "contract": None, "start_date": dt.date(2025, 1, 1)}
    draft = entitlement_services.entitlement_create(tenant=in_tenant_a, actor=actor, data=data)
    assert recorded() == [], "a draft counts for nothing"
    entitlement_services.entitlement_publish(entitlement=draft, actor=actor)
    entitlement_services.entitlement_update(entitlement=draft, actor=actor, data={"quantity": 12})
    pk = draft.pk
    entitlement_services.entitlement_delete(entitlement=draft, actor=actor)
    assert recorded() == [("entitlements", [pk])] * 3


def test_confirmations_and_exemptions_name_their_positions(in_tenant_a, cast):
    cad = licensed_product(in_tenant_a, title="CAD", confirmation="manual")
    pc = DeviceFactory(tenant=in_tenant_a, name="PC-1")
    install(pc, cad)
    recompute_tenant(tenant=in_tenant_a, as_of=AS_OF)
    requirement = Requirement.objects.get(device=pc)
    position = [cad.pk, requirement.license_model]
    recorded()

    requirements_confirm(tenant=in_tenant_a, requirement_ids=[requirement.pk], actor=cast["license_manager"])
    exemption = exemption_create(tenant=in_tenant_a, actor=cast["license_manager"], reason="test lab", device=pc)
    exemption_revoke(exemption=exemption, actor=cast["license_manager"])
    assert recorded() == [("positions", [position])] * 3


def test_catalog_amendments_name_products_or_everything(in_tenant_a, cast):
    old, new = ProductFactory(), ProductFactory()
    sku = amendment_save(tenant=in_tenant_a, actor=cast["license_manager"],
                         instance=TenantSku(part_number="OWN-1", product=old))
    assert recorded() == [("products", [old.pk])]
    sku.product = new
    amendment_save(tenant=in_tenant_a, actor=cast["license_manager"], instance=sku)
    assert recorded() == [("products", sorted([old.pk, new.pk]))]
    amendment_delete(tenant=in_tenant_a, actor=cast["license_manager"], instance=sku)
    assert recorded() == [("products", [new.pk])]

    amendment_save(tenant=in_tenant_a, actor=cast["license_manager"],
                   instance=TenantLicenseModel(name="Our Core", assignment="device", metric="core", quantity="cores"))
    assert recorded() == [("full", [])], "a license model may be used by any product"
