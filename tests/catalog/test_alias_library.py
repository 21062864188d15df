"""SKU aliases in two layers: the tenant's own above the clearing service's alias library, each
optionally limited to one supplier."""
from __future__ import annotations

import pytest

from catalog.aliases import AliasError, alias_library_can_edit, sku_alias_save
from catalog.models import SkuAlias, TenantSkuAlias
from catalog.selectors import aliases_effective, sku_resolve_lines
from sam.models import AuditEvent
from tests.catalog.factories import SkuFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_first_matching_layer_wins_tenant_then_library_supplier_before_any(in_tenant_a, tenant_b):
    for part in ("LIB-ANY", "LIB-SUP", "MINE-ANY", "MINE-SUP", "DIRECT"):
        SkuFactory(part_number=part)
    SkuAlias.objects.create(alias="X", part_number="LIB-ANY")
    SkuAlias.objects.create(alias="X", part_number="LIB-SUP", supplier="Acme")
    TenantSkuAlias.objects.create(tenant=in_tenant_a, alias="Y", part_number="MINE-ANY")
    TenantSkuAlias.objects.create(tenant=in_tenant_a, alias="Y", part_number="MINE-SUP", supplier="Acme")
    SkuAlias.objects.create(alias="Y", part_number="LIB-ANY")
    SkuAlias.objects.create(alias="DIRECT", part_number="LIB-ANY")
    pairs = [("X", "acme "), ("X", "Other"), ("x", ""), ("Y", "ACME"), ("Y", "Other"), ("DIRECT", "Acme")]
    found = sku_resolve_lines(tenant=in_tenant_a, pairs=pairs)
    got = {pair: (r.sku.part_number, r.alias_source) for pair, r in found.items()}
    assert got == {
        ("X", "acme "): ("LIB-SUP", "library"),  # library, this supplier
        ("X", "Other"): ("LIB-ANY", "library"),  # library, any supplier
        ("x", ""): ("LIB-ANY", "library"),  # no supplier known: only aliases for any supplier
        ("Y", "ACME"): ("MINE-SUP", "tenant"),  # the tenant's own, this supplier
        ("Y", "Other"): ("MINE-ANY", "tenant"),  # the tenant's own, any supplier, above the library
        ("DIRECT", "Acme"): ("DIRECT", ""),  # a catalog part number is never translated
    }
    # Another tenant sees the library only.
    other = sku_resolve_lines(tenant=tenant_b, pairs=[("Y", "Acme")])[("Y", "Acme")]
    assert other.sku.part_number == "LIB-ANY" and other.alias_source == "library"
    assert {(a.alias, a.supplier, a.is_tenant) for a in aliases_effective(tenant=in_tenant_a) if a.alias == "Y"} == {
        ("Y", "", True), ("Y", "Acme", True)}


def test_saving_an_alias_checks_the_target_and_audits_in_the_tenant(in_tenant_a):
    SkuFactory(part_number="REAL-1")
    with pytest.raises(AliasError):
        sku_alias_save(tenant=in_tenant_a, actor="t", alias="R-1", part_number="NOT-THERE")
    with pytest.raises(AliasError):
        sku_alias_save(tenant=in_tenant_a, actor="t", alias="real-1", part_number="REAL-1")
    row = sku_alias_save(tenant=in_tenant_a, actor="t", alias="R-1", part_number="real-1")
    assert row.part_number == "REAL-1"
    library = sku_alias_save(tenant=None, actor="t", alias="R-1", part_number="REAL-1", audit_tenant=in_tenant_a)
    assert isinstance(library, SkuAlias)
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {"catalog.sku_alias.created",
                                                                        "catalog.library_alias.created"}


def test_only_superusers_and_holders_of_the_library_permission_edit_it():
    from django.contrib.auth.models import Permission

    clerk, manager = UserFactory(username="clerk"), UserFactory(username="manager")
    manager.user_permissions.add(Permission.objects.get(codename="change_skualias", content_type__app_label="catalog"))
    boss = UserFactory(username="boss", is_superuser=True)
    assert not alias_library_can_edit(user=clerk)
    assert alias_library_can_edit(user=type(manager).objects.get(pk=manager.pk))
    assert alias_library_can_edit(user=boss)
