from __future__ import annotations

import pytest

from catalog.models import EditionRank, ProductTerms, TenantEditionRank, version_key
from catalog.selectors import edition_rank_lookup, edition_ranks_effective, product_versions_covered
from tests.catalog.factories import ProductFactory, PublisherFactory


def test_years_sort_in_order():
    assert version_key("2019") < version_key("2021") < version_key("2024")


def test_numbers_sort_numerically_not_as_text():
    assert version_key("9") < version_key("10")
    assert version_key("9.2") < version_key("10.0")


def test_dotted_versions_compare_part_by_part():
    assert version_key("1.2") < version_key("1.10")
    assert version_key("11.5") < version_key("11.5.8") < version_key("12")
    assert version_key("19c") < version_key("21c")


@pytest.mark.django_db
def test_edition_ranks_overlay_tenant_over_master(in_tenant_a):
    EditionRank.objects.create(publisher="Microsoft", title="SQL Server", edition="Standard", rank=10)
    EditionRank.objects.create(publisher="Microsoft", title="SQL Server", edition="Enterprise", rank=20)
    TenantEditionRank.objects.create(tenant=in_tenant_a, publisher="Microsoft", title="SQL Server",
                                     edition="Standard", rank=30)
    assert edition_ranks_effective(tenant=None)[("Microsoft", "SQL Server", "Standard")] == 10
    mine = edition_ranks_effective(tenant=in_tenant_a)
    assert mine[("Microsoft", "SQL Server", "Standard")] == 30
    assert mine[("Microsoft", "SQL Server", "Enterprise")] == 20
    assert edition_rank_lookup(tenant=None)("microsoft", "sql server", "ENTERPRISE") == 20


@pytest.mark.django_db
def test_versions_and_editions_a_product_covers(in_tenant_a):
    ms = PublisherFactory(name="Microsoft")
    p19, p21, p24 = (ProductFactory(publisher=ms, title="Office LTSC", version=v, edition="Professional Plus")
                     for v in ("2019", "2021", "2024"))
    std21 = ProductFactory(publisher=ms, title="Office LTSC", version="2021", edition="Standard")
    EditionRank.objects.create(publisher="Microsoft", title="Office LTSC", edition="Standard", rank=10)
    EditionRank.objects.create(publisher="Microsoft", title="Office LTSC", edition="Professional Plus", rank=20)
    ProductTerms.objects.create(product=p21, version_downgrade=True, version_upgrade=True, edition_downgrade=True)
    covered = product_versions_covered(tenant=in_tenant_a, product=p21)
    assert covered["downgrade"] == [p19]
    assert covered["upgrade"] == [p24]
    assert covered["editions"] == [std21]
