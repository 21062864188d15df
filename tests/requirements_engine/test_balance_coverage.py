"""Coverage rules: which license covers which position, and the rule named as the "why"."""
from __future__ import annotations

import datetime as dt

import pytest

from requirements_engine.balance import balance_compute
from requirements_engine.models import Allocation, BalanceRow
from tests.requirements_engine.balance_builders import (
    AS_OF,
    entitlement,
    license_model,
    product,
    rank,
    requirement,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate(in_tenant_a):
    license_model("Per Device")
    return in_tenant_a


def rules_for(prod) -> list[tuple[str, str]]:
    return [(str(a.units.normalize()), a.rule)
            for a in Allocation.objects.filter(as_of=AS_OF, product=prod).order_by("entitlement_id")]


def row(prod) -> BalanceRow:
    return BalanceRow.objects.get(as_of=AS_OF, product=prod, repository_id_ref__isnull=True)


def test_a_license_covers_its_own_product_exactly(estate):
    p = product("Contoso", "Draw", "2024", "Pro")
    entitlement(estate, p, 2)
    requirement(estate, p)
    balance_compute(tenant=estate, as_of=AS_OF)
    assert rules_for(p) == [("1", "exact")]
    assert (row(p).covered, row(p).surplus) == (1, 1)


def test_a_2024_license_covers_2022_by_version_downgrade(estate):
    new = product("Contoso", "Draw", "2024", "Pro")
    old = product("Contoso", "Draw", "2022", "Pro")
    entitlement(estate, new, 1)
    requirement(estate, old)
    balance_compute(tenant=estate, as_of=AS_OF)
    assert rules_for(old) == [("1", "version downgrade")]


def test_without_downgrade_right_an_older_version_stays_short(estate):
    new = product("Contoso", "Draw", "2024", "Pro")
    old = product("Contoso", "Draw", "2022", "Pro")
    entitlement(estate, new, 1, version_downgrade=False)
    requirement(estate, old)
    balance_compute(tenant=estate, as_of=AS_OF)
    assert rules_for(old) == []
    assert row(old).shortfall == 1


def test_version_upgrade_right_covers_a_later_version_and_only_with_the_right(estate):
    old = product("Contoso", "Draw", "2022", "Pro")
    new = product("Contoso", "Draw", "2024", "Pro")
    entitlement(estate, old, 1, version_upgrade=True)
    requirement(estate, new)
    balance_compute(tenant=estate, as_of=AS_OF)
    assert rules_for(new) == [("1", "version upgrade")]


def test_later_versions_are_not_covered_without_upgrade_right(estate):
    old = product("Contoso", "Draw", "2022", "Pro")
    new = product("Contoso", "Draw", "2024", "Pro")
    entitlement(estate, old, 1)
    requirement(estate, new)
    balance_compute(tenant=estate, as_of=AS_OF)
    assert row(new).shortfall == 1


def test_edition_downgrade_uses_the_catalog_ranks(estate):
    rank("Fabrikam", "DB", "Enterprise", 20)
    rank("Fabrikam", "DB", "Standard", 10)
    ent = product("Fabrikam", "DB", "10", "Enterprise")
    std = product("Fabrikam", "DB", "10", "Standard")
    entitlement(estate, ent, 1, edition_downgrade=True)
    entitlement(estate, std, 1, edition_downgrade=True)  # a lower rank never covers a higher one
    requirement(estate, std)
    requirement(estate, ent)
    requirement(estate, std)
    balance_compute(tenant=estate, as_of=AS_OF)
    # Enterprise is needed by Enterprise itself: Standard's second requirement stays short.
    assert rules_for(ent) == [("1", "exact")]
    assert row(std).shortfall == 1


def test_edition_downgrade_needs_the_right(estate):
    rank("Fabrikam", "DB", "Enterprise", 20)
    rank("Fabrikam", "DB", "Standard", 10)
    ent = product("Fabrikam", "DB", "10", "Enterprise")
    std = product("Fabrikam", "DB", "10", "Standard")
    entitlement(estate, ent, 1, edition_downgrade=False)
    requirement(estate, std)
    balance_compute(tenant=estate, as_of=AS_OF)
    assert row(std).shortfall == 1


def test_edition_downgrade_covers_a_lower_rank(estate):
    rank("Fabrikam", "DB", "Enterprise", 20)
    rank("Fabrikam", "DB", "Standard", 10)
    ent = product("Fabrikam", "DB", "10", "Enterprise")
    std = product("Fabrikam", "DB", "10", "Standard")
    entitlement(estate, ent, 1, edition_downgrade=True)
    requirement(estate, std)
    balance_compute(tenant=estate, as_of=AS_OF)
    assert rules_for(std) == [("1", "edition downgrade")]


def test_version_and_edition_downgrade_combine_when_both_rights_are_on(estate):
    rank("Fabrikam", "DB", "Enterprise", 20)
    rank("Fabrikam", "DB", "Standard", 10)
    ent12 = product("Fabrikam", "DB", "12", "Enterprise")
    std10 = product("Fabrikam", "DB", "10", "Standard")
    entitlement(estate, ent12, 1, edition_downgrade=True, version_downgrade=True)
    requirement(estate, std10)
    balance_compute(tenant=estate, as_of=AS_OF)
    assert rules_for(std10) == [("1", "version downgrade + edition downgrade")]


def test_a_suite_license_covers_its_components(estate):
    from catalog.models import BundleComponent

    suite = product("Contoso", "Office Suite", "2024")
    word = product("Contoso", "Writer", "2024")
    BundleComponent.objects.create(bundle=suite, component=word)
    entitlement(estate, suite, 1)
    requirement(estate, word)
    balance_compute(tenant=estate, as_of=AS_OF)
    assert rules_for(word) == [("1", "bundle")]


def test_active_maintenance_covers_versions_released_during_its_term(estate):
    v22 = product("Contoso", "Draw", "2022", "Pro", release=dt.date(2022, 3, 1))
    v24 = product("Contoso", "Draw", "2024", "Pro", release=dt.date(2024, 3, 1))
    v26 = product("Contoso", "Draw", "2026", "Pro", release=dt.date(2026, 5, 1))
    lic = entitlement(estate, v22, 2)
    maint = entitlement(estate, v22, 2, type="maintenance", start_date=dt.date(2023, 1, 1),
                        end_date=dt.date(2026, 3, 31))
    maint.covers.add(lic)
    requirement(estate, v24)
    requirement(estate, v26)  # released after the maintenance term: not covered
    balance_compute(tenant=estate, as_of=dt.date(2026, 3, 1))
    got = {a.product_id: a.rule for a in Allocation.objects.filter(as_of=dt.date(2026, 3, 1))}
    assert got == {v24.id: "maintenance"}


def test_an_expired_maintenance_grants_nothing(estate):
    v22 = product("Contoso", "Draw", "2022", "Pro", release=dt.date(2022, 3, 1))
    v24 = product("Contoso", "Draw", "2024", "Pro", release=dt.date(2024, 3, 1))
    lic = entitlement(estate, v22, 1)
    maint = entitlement(estate, v22, 1, type="maintenance", start_date=dt.date(2023, 1, 1),
                        end_date=dt.date(2025, 12, 31))
    maint.covers.add(lic)
    requirement(estate, v24)
    balance_compute(tenant=estate, as_of=AS_OF)
    assert row(v24).shortfall == 1


def test_an_unlimited_license_covers_everything_it_reaches(estate):
    new = product("Contoso", "Draw", "2024", "Pro")
    old = product("Contoso", "Draw", "2022", "Pro")
    entitlement(estate, new, None, unlimited=True)
    for _ in range(3):
        requirement(estate, new)
        requirement(estate, old)
    balance_compute(tenant=estate, as_of=AS_OF)
    assert (row(new).covered, row(new).shortfall, row(new).unlimited) == (3, 0, True)
    assert (row(old).covered, row(old).shortfall) == (3, 0)


def test_the_license_model_must_match(estate):
    license_model("Per User", metric="user", assignment="named_user")
    p = product("Northwind", "Chat", "5", "Team")
    entitlement(estate, p, 5, model="Per User")
    requirement(estate, p, model="Per Device")
    balance_compute(tenant=estate, as_of=AS_OF)
    device_row = BalanceRow.objects.get(as_of=AS_OF, product=p, license_model="Per Device")
    user_row = BalanceRow.objects.get(as_of=AS_OF, product=p, license_model="Per User")
    assert (device_row.required, device_row.covered, device_row.shortfall) == (1, 0, 1)
    assert (user_row.purchased, user_row.surplus) == (5, 5)
