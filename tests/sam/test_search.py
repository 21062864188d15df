"""The global search: tenant-scoped, per-role, bounded."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from tests.inventory.factories import DeviceFactory

pytestmark = pytest.mark.django_db


def _search(client, q, tenant="tenant-a"):
    return client.get(f"/t/{tenant}/search/", {"q": q})


def _estate(tenant, cast):
    from catalog.models import LicenseModel, TenantSku
    from entitlements.services import entitlement_create
    from tests.requirements_engine.factories import ProductFactory, PublisherFactory

    LicenseModel.objects.get_or_create(name="Per Device", defaults={"metric": "device"})
    product = ProductFactory(publisher=PublisherFactory(name="Contoso"), title="Orion Draw", version="2024")
    with scope(tenant=tenant):
        DeviceFactory(tenant=tenant, name="ORION-PC-1")
        TenantSku.objects.create(tenant=tenant, part_number="ORION-SKU-9", description="Orion Draw 2024",
                                 product=product)
        entitlement_create(tenant=tenant, actor=cast["admin"], publish=False, data={
            "type": "license", "product": product, "license_model": "Per Device", "quantity": 1,
            "identifier": "ORION-LIC"})


def test_the_search_finds_a_device_a_sku_and_a_license(client, cast, tenant_a, tenant_b):
    _estate(tenant_a, cast)
    with scope(tenant=tenant_b):
        DeviceFactory(tenant=tenant_b, name="ORION-FOREIGN")
    client.force_login(cast["license_manager"])
    response = _search(client, "orion")
    groups = {g.key: [h.label for h in g.hits] for g in response.context["groups"]}
    assert groups["devices"] == ["ORION-PC-1"]  # not tenant B's device
    assert groups["skus"] == ["ORION-SKU-9"]
    assert groups["licenses"] == ["Contoso Orion Draw 2024"]
    assert "Contoso Orion Draw 2024" in groups["products"]
    assert "ORION-FOREIGN" not in response.content.decode()


def test_each_role_searches_only_what_it_may_read(client, cast, tenant_a):
    _estate(tenant_a, cast)
    client.force_login(cast["clearing"])
    keys = {g.key for g in _search(client, "orion").context["groups"]}
    assert keys == {"products", "skus", "purchase_lines"}


def test_a_short_query_searches_nothing(client, cast, tenant_a):
    client.force_login(cast["auditor"])
    response = _search(client, "o")
    assert response.context["groups"] == [] and "at least 2 characters" in response.content.decode()


def test_the_search_costs_the_same_for_many_matches(client, cast, tenant_a):
    client.force_login(cast["auditor"])

    def queries(n):
        with scope(tenant=tenant_a):
            for _i in range(n):
                DeviceFactory(tenant=tenant_a)
        with CaptureQueriesContext(connection) as ctx:
            response = _search(client, "PC-")
        return len(ctx), response

    few, _ = queries(2)
    many, response = queries(40)
    assert many == few
    devices = next(g for g in response.context["groups"] if g.key == "devices")
    assert len(devices.hits) == 8 and devices.more
