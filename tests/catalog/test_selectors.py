from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import (
    AssignmentKind,
    BundleComponent,
    LicenseModel,
    ProcessorModel,
    ProductAssignment,
    ProductTerms,
    SkuAlias,
    TenantBundleComponent,
    TenantLicenseModel,
    TenantProcessorModel,
    TenantProductAssignment,
    TenantProductTerms,
    TenantSku,
    TenantSkuAlias,
)
from catalog.selectors import (
    assignments_effective,
    bundle_components_effective,
    license_models_effective,
    processor_lookup,
    product_terms_effective,
    products_visible,
    sku_resolve,
    sku_resolve_many,
    skus_effective,
)
from catalog.services import product_get_or_create
from tests.catalog.factories import ProductFactory, SkuFactory

pytestmark = pytest.mark.django_db


def test_a_tenant_license_model_wins_over_the_master_of_the_same_name(in_tenant_a, tenant_b):
    LicenseModel.objects.create(name="Per Device", quantity="1")
    LicenseModel.objects.create(name="Per User", assignment="named_user", metric="user")
    TenantLicenseModel.objects.create(tenant=in_tenant_a, name="Per Device", quantity="2", effective=False)
    mine = license_models_effective(tenant=in_tenant_a)
    assert mine["Per Device"].quantity == "2" and mine["Per Device"].effective is False
    assert mine["Per Device"].is_tenant
    assert mine["Per User"].assignment == "named_user"
    assert license_models_effective(tenant=None)["Per Device"].quantity == "1"


def test_products_without_terms_get_the_defaults_and_tenant_terms_win(in_tenant_a):
    bare, with_master, with_both = ProductFactory(), ProductFactory(), ProductFactory()
    ProductTerms.objects.create(product=with_master, default_license_model="Per Device", min_entitlement_days=90)
    ProductTerms.objects.create(product=with_both, default_license_model="Per Device")
    TenantProductTerms.objects.create(tenant=in_tenant_a, product=with_both, default_license_model="Per User",
                                      confirmation="manual")
    terms = product_terms_effective(tenant=in_tenant_a, product_ids=[bare.pk, with_master.pk, with_both.pk])
    assert (terms[bare.pk].default_license_model, terms[bare.pk].min_entitlement_days,
            terms[bare.pk].confirmation, terms[bare.pk].version_downgrade, terms[bare.pk].version_upgrade,
            terms[bare.pk].edition_downgrade, terms[bare.pk].second_copy) == ("", 0, "automatic", True, False, False,
                                                                                 False)
    assert terms[with_master.pk].min_entitlement_days == 90
    assert terms[with_both.pk].default_license_model == "Per User"
    assert terms[with_both.pk].confirmation == "manual"


def test_skus_are_keyed_upper_case_and_a_tenant_sku_replaces_the_master(in_tenant_a):
    product, other = ProductFactory(), ProductFactory()
    SkuFactory(part_number="abc-1", product=product, units=2)
    TenantSku.objects.create(tenant=in_tenant_a, part_number="ABC-1", product=other, units=4)
    assert skus_effective(tenant=None)["ABC-1"].product_id == product.pk
    mine = skus_effective(tenant=in_tenant_a)["ABC-1"]
    assert (mine.product_id, mine.units, mine.is_tenant) == (other.pk, Decimal(4), True)


def test_sku_resolution_is_case_insensitive_trims_and_follows_aliases(in_tenant_a):
    product = ProductFactory()
    SkuFactory(part_number="7NQ-01708", product=product)
    SkuAlias.objects.create(alias="SQLSTD2C", part_number="7nq-01708")
    TenantSkuAlias.objects.create(tenant=in_tenant_a, alias="reseller-42", part_number="7NQ-01708")
    direct = sku_resolve(tenant=in_tenant_a, part_number="  7nq-01708 ")
    assert direct.sku.part_number == "7NQ-01708" and not direct.via_alias and not direct.ambiguous
    via_master = sku_resolve(tenant=in_tenant_a, part_number="sqlstd2c")
    assert via_master.sku.product_id == product.pk and via_master.via_alias and via_master.alias == "SQLSTD2C"
    assert sku_resolve(tenant=in_tenant_a, part_number="RESELLER-42").sku.part_number == "7NQ-01708"
    assert sku_resolve(tenant=None, part_number="RESELLER-42").sku is None
    assert sku_resolve(tenant=in_tenant_a, part_number="nope").sku is None


def test_a_tenant_alias_wins_over_the_master_alias(in_tenant_a):
    SkuFactory(part_number="A-1")
    SkuFactory(part_number="B-2")
    SkuAlias.objects.create(alias="X", part_number="A-1")
    TenantSkuAlias.objects.create(tenant=in_tenant_a, alias="x", part_number="B-2")
    assert sku_resolve(tenant=None, part_number="X").sku.part_number == "A-1"
    assert sku_resolve(tenant=in_tenant_a, part_number="X").sku.part_number == "B-2"


def test_ambiguous_part_numbers_and_aliases_resolve_to_nothing(in_tenant_a):
    SkuFactory(part_number="dup-1")
    SkuFactory(part_number="DUP-1")  # distinct rows that collide once normalised
    SkuFactory(part_number="C-1")
    SkuFactory(part_number="D-1")
    SkuAlias.objects.create(alias="two", part_number="C-1")
    SkuAlias.objects.create(alias="TWO", part_number="D-1")
    dup = sku_resolve(tenant=in_tenant_a, part_number="Dup-1")
    assert dup.ambiguous and dup.sku is None
    two = sku_resolve(tenant=in_tenant_a, part_number="two")
    assert two.ambiguous and two.via_alias and two.sku is None


def test_bulk_resolution_uses_a_fixed_number_of_queries(in_tenant_a, django_assert_max_num_queries):
    for i in range(60):
        SkuFactory(part_number=f"P-{i}")
    SkuAlias.objects.create(alias="ALIAS-3", part_number="P-3")
    wanted = [f"p-{i}" for i in range(60)] + ["ALIAS-3", "missing"]
    with django_assert_max_num_queries(4):
        result = sku_resolve_many(tenant=in_tenant_a, part_numbers=wanted)
    assert result["p-59"].sku.part_number == "P-59"
    assert result["ALIAS-3"].sku.part_number == "P-3"
    assert result["missing"].sku is None


def test_processor_lookup_takes_the_smallest_max_sockets_not_below_the_device(in_tenant_a):
    ProcessorModel.objects.create(model="Intel Xeon*", core_factor=Decimal("0.5"), pvu_per_core=70, max_sockets=2)
    ProcessorModel.objects.create(model="Intel Xeon*", core_factor=Decimal("0.5"), pvu_per_core=100, max_sockets=4)
    ProcessorModel.objects.create(model="Intel Xeon*", core_factor=Decimal("0.5"), pvu_per_core=120)
    ProcessorModel.objects.create(model="SPARC T1*", core_factor=Decimal("0.25"))
    lookup = processor_lookup(tenant=in_tenant_a)
    assert lookup("Intel Xeon Gold 6338", 1) == (Decimal("0.5"), 70)
    assert lookup("intel xeon gold 6338", 2) == (Decimal("0.5"), 70)
    assert lookup("Intel Xeon Gold 6338", 3) == (Decimal("0.5"), 100)
    assert lookup("Intel Xeon Platinum", 8) == (Decimal("0.5"), 120)
    assert lookup("Intel Xeon Platinum", None) == (Decimal("0.5"), 120)
    assert lookup("SPARC T1 1.2GHz", 1) == (Decimal("0.25"), None)
    assert lookup("Unknown CPU", 1) == (None, None)


def test_a_tenant_processor_row_replaces_the_master_row(in_tenant_a):
    ProcessorModel.objects.create(model="AMD EPYC*", core_factor=Decimal("0.5"), pvu_per_core=70)
    TenantProcessorModel.objects.create(tenant=in_tenant_a, model="amd epyc*", core_factor=Decimal("1.0"),
                                        pvu_per_core=100)
    assert processor_lookup(tenant=None)("AMD EPYC 7543", 2) == (Decimal("0.5"), 70)
    assert processor_lookup(tenant=in_tenant_a)("AMD EPYC 7543", 2) == (Decimal("1.0"), 100)


def test_tenant_assignments_for_a_group_replace_the_master_ones(in_tenant_a):
    p1, p2, p3 = ProductFactory(), ProductFactory(), ProductFactory()
    ProductAssignment.objects.create(kind=AssignmentKind.GROUP, key="APP-Office", product=p1)
    ProductAssignment.objects.create(kind=AssignmentKind.GROUP, key="APP-Visio", product=p2)
    TenantProductAssignment.objects.create(tenant=in_tenant_a, kind=AssignmentKind.GROUP, key="app-office",
                                           product=p3)
    rows = assignments_effective(tenant=in_tenant_a, kind="group")
    assert {(a.key.lower(), a.product_id) for a in rows} == {("app-office", p3.pk), ("app-visio", p2.pk)}
    assert assignments_effective(tenant=in_tenant_a, kind="executable") == []


def test_bundle_components_tenant_replaces_master(in_tenant_a):
    suite, a, b, c = ProductFactory(), ProductFactory(), ProductFactory(), ProductFactory()
    BundleComponent.objects.create(bundle=suite, component=a)
    BundleComponent.objects.create(bundle=suite, component=b)
    assert bundle_components_effective(tenant=None) == {suite.pk: {a.pk, b.pk}}
    TenantBundleComponent.objects.create(tenant=in_tenant_a, bundle=suite, component=c)
    assert bundle_components_effective(tenant=in_tenant_a) == {suite.pk: {c.pk}}


def test_a_tenants_own_products_stay_hidden_from_other_tenants(in_tenant_a, tenant_b):
    mine = product_get_or_create(publisher="In-house", title="Tool", version="1", edition="", tenant=in_tenant_a)
    shared = product_get_or_create(publisher="Microsoft", title="Visio", version="2021", edition="Standard")
    assert mine.introduced_by_id == in_tenant_a.pk and shared.introduced_by_id is None
    assert set(products_visible(tenant=in_tenant_a)) == {mine, shared}
    assert list(products_visible(tenant=tenant_b)) == [shared]
    # Same identity, any spelling: the same row.
    assert product_get_or_create(publisher="in-house", title="TOOL", version="1", edition="",
                                 tenant=in_tenant_a) == mine
