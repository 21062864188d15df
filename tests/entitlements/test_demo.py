from __future__ import annotations

import pytest

from entitlements.demo import seed
from entitlements.models import Contract, Entitlement, EntitlementType, State

pytestmark = pytest.mark.django_db


def test_the_demo_inventory_loads_with_the_master_catalog_and_twice_changes_nothing(in_tenant_a):
    from catalog.demo import seed_master

    seed_master(log=lambda *_: None)
    seed(tenant=in_tenant_a, devices=100, log=lambda *_: None)
    count = Entitlement.objects.count()
    seed(tenant=in_tenant_a, devices=100, log=lambda *_: None)
    assert Entitlement.objects.count() == count > 10
    assert Contract.objects.count() == 4
    assert Entitlement.objects.filter(state=State.DRAFT_ERRORS).exists()
    maintenance = Entitlement.objects.get(type=EntitlementType.MAINTENANCE)
    assert maintenance.covers.count() == 2
    assert Entitlement.objects.filter(upgrades__isnull=False).exists()


def test_the_demo_skips_what_the_catalog_lacks(in_tenant_a):
    seed(tenant=in_tenant_a, devices=100, log=lambda *_: None)
    assert Entitlement.objects.count() == 0 and Contract.objects.count() == 4
