"""The balance: hand-computed positions, counting rules, rounding, exemptions, what-if, snapshots."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from entitlements.models import Repository
from requirements_engine.balance import balance_compute, position_required
from requirements_engine.models import Allocation, BalanceRow
from requirements_engine.models_balance import Exemption
from tests.requirements_engine.balance_builders import (
    AS_OF,
    device,
    entitlement,
    license_model,
    person,
    product,
    rank,
    requirement,
)

pytestmark = pytest.mark.django_db


def rows(as_of=AS_OF) -> dict[str, BalanceRow]:
    return {f"{r.product.publisher.name} {r.product.title} {r.product.version} {r.product.edition}".strip(): r
            for r in BalanceRow.objects.filter(as_of=as_of, repository_id_ref__isnull=True)
            .select_related("product__publisher")}


def numbers(r: BalanceRow) -> tuple:
    return (r.required, r.purchased, r.covered, r.shortfall, r.surplus)


def build_acceptance_estate(tenant):
    """The estate of /work/shared/acceptance/estate-demo after the engine ran (as of 2026-06-15)."""
    license_model("Demo Per Device")
    license_model("Demo Named User", metric="user", assignment="named_user")
    license_model("Demo Core Min4", metric="core", assignment="ose")
    draw24 = product("Contoso", "Draw", "2024", "Pro", model="Demo Per Device", release=dt.date(2024, 3, 1))
    draw22 = product("Contoso", "Draw", "2022", "Pro", model="Demo Per Device", release=dt.date(2022, 3, 1))
    db10 = product("Fabrikam", "DB", "10", "Enterprise", model="Demo Core Min4", release=dt.date(2023, 6, 1))
    chat5 = product("Northwind", "Chat", "5", "Team", model="Demo Named User", release=dt.date(2025, 1, 15))
    rank("Contoso", "Draw", "Pro", 10)
    # Procurement PO-1 lines 1-3 (lines 4 and 5 wait in receiving and never become licenses).
    entitlement(tenant, draw24, 1, model="Demo Per Device", unit_cost=Decimal("300"), sku="CD-24P")
    entitlement(tenant, db10, 1, units=Decimal(2), model="Demo Core Min4", unit_cost=Decimal("9000"),
                sku="FDB-10E-2C")
    entitlement(tenant, chat5, 2, model="Demo Named User", term="subscription", start_date=dt.date(2026, 2, 1),
                end_date=dt.date(2027, 1, 31), unit_cost=Decimal("60"), sku="NWC-5T-U")
    # Requirements: PC-1 runs Draw 2022 (PC-2 is disposed: none); SRV-1 has 1 × 2 cores → max(2, 4) × 1 = 4
    # (SRV-2 is powered off: none); ann is in GRP-Chat (ben is inactive: none).
    requirement(tenant, draw22, 1, consumer=device(tenant, "PC-1"), model="Demo Per Device")
    requirement(tenant, db10, 4, consumer=device(tenant, "SRV-1", role="server"), model="Demo Core Min4")
    requirement(tenant, chat5, 1, consumer=person(tenant, "ann"), model="Demo Named User")
    return draw24, draw22, db10, chat5


def test_the_acceptance_estate_gives_the_hand_computed_balance(in_tenant_a):
    build_acceptance_estate(in_tenant_a)
    balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    got = rows()
    # (required, purchased, covered, shortfall, surplus)
    assert numbers(got["Contoso Draw 2024 Pro"]) == (0, 1, 0, 0, 0)  # its license went to 2022 by downgrade
    assert numbers(got["Contoso Draw 2022 Pro"]) == (1, 0, 1, 0, 0)
    assert numbers(got["Fabrikam DB 10 Enterprise"]) == (4, 2, 2, 2, 0)
    assert numbers(got["Northwind Chat 5 Team"]) == (1, 2, 1, 0, 1)
    assert got["Fabrikam DB 10 Enterprise"].status == "shortfall"
    assert got["Contoso Draw 2022 Pro"].status == "compliant"
    # 2 cores short at the last purchase price of 9000 per 2-core pack = 4500 per core.
    assert got["Fabrikam DB 10 Enterprise"].shortfall_cost == Decimal("9000.00")
    assert got["Fabrikam DB 10 Enterprise"].metric == "core"
    assert len(got) == 4


def test_the_flow_finds_the_allocation_a_greedy_pass_misses(in_tenant_a):
    # 5 Enterprise + 5 Standard licenses for 5 Standard + 3 Enterprise requirements. Spending Enterprise on
    # Standard first (edition downgrade) would leave the 3 Enterprise requirements short.
    rank("Fabrikam", "DB", "Enterprise", 20)
    rank("Fabrikam", "DB", "Standard", 10)
    ent = product("Fabrikam", "DB", "10", "Enterprise")
    std = product("Fabrikam", "DB", "10", "Standard")
    license_model("Per Device")
    entitlement(in_tenant_a, ent, 5, edition_downgrade=True)
    entitlement(in_tenant_a, std, 5)
    for _ in range(5):
        requirement(in_tenant_a, std)
    for _ in range(3):
        requirement(in_tenant_a, ent)
    balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    got = rows()
    assert numbers(got["Fabrikam DB 10 Enterprise"]) == (3, 5, 3, 0, 2)
    assert numbers(got["Fabrikam DB 10 Standard"]) == (5, 5, 5, 0, 0)


def test_downgrade_is_used_only_where_the_exact_license_runs_out(in_tenant_a):
    rank("Fabrikam", "DB", "Enterprise", 20)
    rank("Fabrikam", "DB", "Standard", 10)
    ent = product("Fabrikam", "DB", "10", "Enterprise")
    std = product("Fabrikam", "DB", "10", "Standard")
    license_model("Per Device")
    e = entitlement(in_tenant_a, ent, 5, edition_downgrade=True)
    entitlement(in_tenant_a, std, 3)
    for _ in range(5):
        requirement(in_tenant_a, std)
    for _ in range(2):
        requirement(in_tenant_a, ent)
    balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    got = rows()
    assert numbers(got["Fabrikam DB 10 Enterprise"]) == (2, 5, 2, 0, 1)
    assert numbers(got["Fabrikam DB 10 Standard"]) == (5, 3, 5, 0, 0)
    downgrade = Allocation.objects.get(as_of=AS_OF, product=std, entitlement=e)
    assert (downgrade.units, downgrade.rule) == (2, "edition downgrade")


def test_expired_draft_invalid_and_foreign_repository_licenses_do_not_count(in_tenant_a):
    license_model("Per Device")
    p = product("Contoso", "Draw", "2024", "Pro")
    other = Repository.objects.create(tenant=in_tenant_a, name="Sandbox")
    entitlement(in_tenant_a, p, 1, term="subscription", start_date=dt.date(2025, 1, 1),
                end_date=dt.date(2026, 6, 14))  # ended the day before
    entitlement(in_tenant_a, p, 1, start_date=dt.date(2026, 6, 16))  # not started yet
    entitlement(in_tenant_a, p, 1, status="draft")
    entitlement(in_tenant_a, p, 1, errors=["proof of purchase missing"])
    entitlement(in_tenant_a, p, 1, repository=other)
    requirement(in_tenant_a, p)
    balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    assert numbers(rows()["Contoso Draw 2024 Pro"]) == (1, 0, 0, 1, 0)


def test_oracle_processor_rounds_per_position_and_core_factor():
    # Two servers of 7 Xeon cores at core factor 0.5 need ceil(3.5 + 3.5) = 7, not 4 + 4.
    half = Decimal("0.5")
    assert position_required(by_factor={half: Decimal("7.0")}, rounding="position") == 7
    # Each factor group rounds on its own: 3.5 + 3.5 at 0.5 → 7; 1.5 at 0.25 → 2.
    assert position_required(by_factor={half: Decimal("7.0"), Decimal("0.25"): Decimal("1.5")},
                             rounding="position") == 9


def test_oracle_position_rounding_end_to_end(in_tenant_a):
    license_model("Oracle Processor", metric="processor", rounding="position")
    db = product("Oracle", "Database", "19c", "Enterprise", model="Oracle Processor")
    for name in ("SRV-A", "SRV-B"):
        requirement(in_tenant_a, db, Decimal("3.5"), consumer=device(in_tenant_a, name), model="Oracle Processor",
                    core_factor=Decimal("0.5"))
    entitlement(in_tenant_a, db, 6, model="Oracle Processor")
    balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    assert numbers(rows()["Oracle Database 19c Enterprise"]) == (7, 6, 6, 1, 0)


def test_fractional_requirements_flow_exactly_through_the_allocation(in_tenant_a):
    license_model("Oracle Processor", metric="processor", rounding="position")
    db = product("Oracle", "Database", "19c", "Enterprise", model="Oracle Processor")
    requirement(in_tenant_a, db, Decimal("3.5"), model="Oracle Processor", core_factor=Decimal("0.5"))
    entitlement(in_tenant_a, db, 5, model="Oracle Processor")
    balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    assert numbers(rows()["Oracle Database 19c Enterprise"]) == (4, 5, 4, 0, 1)


def test_secondary_ineffective_erroneous_and_unconfirmed_requirements_do_not_count(in_tenant_a):
    license_model("Per Device")
    p = product("Contoso", "Draw", "2024", "Pro")
    requirement(in_tenant_a, p, 1)
    requirement(in_tenant_a, p, 1, is_secondary=True)
    requirement(in_tenant_a, p, 1, effective=False)
    requirement(in_tenant_a, p, 1, error="cores unknown")
    requirement(in_tenant_a, p, 2, confirmation="unconfirmed")
    requirement(in_tenant_a, p, 1, confirmation="unauthorised")
    balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    r = rows()["Contoso Draw 2024 Pro"]
    assert (r.required, r.unconfirmed, r.shortfall) == (1, 2, 1)


def test_the_same_inputs_give_the_same_allocation_twice(in_tenant_a):
    rank("Fabrikam", "DB", "Enterprise", 20)
    rank("Fabrikam", "DB", "Standard", 10)
    license_model("Per Device")
    ent = product("Fabrikam", "DB", "10", "Enterprise")
    std = product("Fabrikam", "DB", "10", "Standard")
    old = product("Fabrikam", "DB", "9", "Standard")
    for q in (2, 3, 1):
        entitlement(in_tenant_a, ent, q, edition_downgrade=True)
        entitlement(in_tenant_a, std, q)
    for _ in range(4):
        requirement(in_tenant_a, std)
        requirement(in_tenant_a, old)
        requirement(in_tenant_a, ent)

    def snapshot():
        return sorted((a.entitlement_id, a.product_id, a.units, a.rule)
                      for a in Allocation.objects.filter(as_of=AS_OF))

    balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    first = snapshot()
    balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    assert snapshot() == first
    assert sum(a[2] for a in first) == 12  # all 12 requirements covered by the 12 licenses


def test_a_what_if_repository_leaves_the_stored_rows_alone(in_tenant_a):
    license_model("Per Device")
    p = product("Contoso", "Draw", "2024", "Pro")
    requirement(in_tenant_a, p, 1)
    balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    before = [(r.pk, numbers(r)) for r in BalanceRow.objects.all()]
    allocations_before = Allocation.objects.count()
    plan = Repository.objects.create(tenant=in_tenant_a, name="Plan 2027")
    entitlement(in_tenant_a, p, 3, repository=plan)
    result = balance_compute(tenant=in_tenant_a, as_of=AS_OF, repository=plan)
    what_if = {r.product_id: r for r in result["rows"]}
    assert numbers(what_if[p.id]) == (1, 3, 1, 0, 2)
    assert [(r.pk, numbers(r)) for r in BalanceRow.objects.all()] == before
    assert Allocation.objects.count() == allocations_before
    assert not BalanceRow.objects.filter(repository_id_ref__isnull=False).exists()


def test_exemptions_remove_demand_until_they_expire(in_tenant_a):
    license_model("Per Device")
    p = product("Contoso", "Draw", "2024", "Pro")
    lab = device(in_tenant_a, "LAB-1")
    r_lab = requirement(in_tenant_a, p, consumer=lab)
    r_other = requirement(in_tenant_a, p)
    requirement(in_tenant_a, p)
    Exemption.objects.create(tenant=in_tenant_a, device=lab, subject="LAB-1", reason="test lab, developer terms")
    Exemption.objects.create(tenant=in_tenant_a, requirement=r_other, subject="req", reason="removal scheduled",
                             expires_on=AS_OF - dt.timedelta(days=1))  # expired: counts again
    balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    assert rows()["Contoso Draw 2024 Pro"].required == 2
    Exemption.objects.create(tenant=in_tenant_a, requirement=r_other, subject="req", reason="decommissioned",
                             expires_on=AS_OF)
    balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    assert rows()["Contoso Draw 2024 Pro"].required == 1
    assert r_lab.pk


def test_each_day_keeps_its_rows_and_a_recompute_replaces_the_same_day(in_tenant_a):
    license_model("Per Device")
    p = product("Contoso", "Draw", "2024", "Pro")
    requirement(in_tenant_a, p, 1)
    day1, day2 = AS_OF, AS_OF + dt.timedelta(days=1)
    balance_compute(tenant=in_tenant_a, as_of=day1)
    entitlement(in_tenant_a, p, 1)
    balance_compute(tenant=in_tenant_a, as_of=day2)
    balance_compute(tenant=in_tenant_a, as_of=day2)
    assert BalanceRow.objects.filter(as_of=day1).count() == 1
    assert BalanceRow.objects.filter(as_of=day2).count() == 1
    assert rows(day1)["Contoso Draw 2024 Pro"].shortfall == 1
    assert rows(day2)["Contoso Draw 2024 Pro"].shortfall == 0


def test_coverage_ending_within_90_days_is_flagged_as_expiring(in_tenant_a):
    license_model("Per Device")
    p = product("Contoso", "Draw", "2024", "Pro")
    entitlement(in_tenant_a, p, 1, term="subscription", end_date=AS_OF + dt.timedelta(days=30))
    entitlement(in_tenant_a, p, 1, term="subscription", end_date=AS_OF + dt.timedelta(days=300))
    requirement(in_tenant_a, p)
    requirement(in_tenant_a, p)
    balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    assert rows()["Contoso Draw 2024 Pro"].expiring == 1


def test_a_catalog_list_price_prices_the_shortfall(in_tenant_a):
    from catalog.models import Sku

    license_model("Per Device")
    p = product("Contoso", "Draw", "2024", "Pro")
    Sku.objects.create(part_number="CD-24P", product=p, license_model="Per Device", units=1,
                       list_price=Decimal("299.50"))
    requirement(in_tenant_a, p)
    requirement(in_tenant_a, p)
    balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    assert rows()["Contoso Draw 2024 Pro"].shortfall_cost == Decimal("599.00")


def _estate(tenant, n: int):
    license_model("Per Device")
    rank("Fabrikam", "DB", "Enterprise", 20)
    rank("Fabrikam", "DB", "Standard", 10)
    for i in range(n):
        ent = product("Fabrikam", f"DB{i}", "10", "Enterprise")
        std = product("Fabrikam", f"DB{i}", "9", "Standard")
        entitlement(tenant, ent, 2, edition_downgrade=True)
        entitlement(tenant, std, 1)
        requirement(tenant, std)
        requirement(tenant, std)
        requirement(tenant, ent, confirmation="unconfirmed")


@pytest.mark.parametrize("n", [3, 12])
def test_the_balance_runs_in_a_fixed_number_of_queries(in_tenant_a, django_assert_max_num_queries, n):
    _estate(in_tenant_a, n)
    with django_assert_max_num_queries(24):
        summary = balance_compute(tenant=in_tenant_a, as_of=AS_OF)
    assert summary["positions"] == 2 * n
