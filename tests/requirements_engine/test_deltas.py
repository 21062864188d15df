"""A delta run equals a full run, for every kind of change the engine's contract names.

Each test builds the same estate and licenses in two tenants, runs both in full, applies the same
change to both, then runs tenant A with ``changed={...}`` (the delta) and tenant B in full. The
``requirements`` and ``balance`` exports must match row by row, and A's run must really have been a
delta (its scope says so).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django_scopes import scope

from catalog.models import TenantProductTerms
from entitlements.models import Entitlement
from inventory.models import Device, Installation, Person
from requirements_engine.engine import recompute_tenant
from requirements_engine.models import BalanceRow, Requirement
from sam.exporting import export
from tests.requirements_engine.balance_builders import entitlement
from tests.requirements_engine.test_requirements_lifecycle import build_estate

AS_OF = dt.date(2026, 6, 15)
pytestmark = pytest.mark.django_db


def exports(tenant) -> dict[str, list[list[str]]]:
    return {what: [list(map(str, row)) for row in export(what=what, tenant=tenant, as_of=AS_OF, params={}).rows]
            for what in ("requirements", "balance")}


def prepared(tenant) -> None:
    build_estate(tenant, 15)
    # Licenses for the estate's products: Office short, Chat covered, Windows Server over-covered.
    for title, quantity in (("Office", 3), ("Chat", 20), ("Windows Server", 64)):
        terms = TenantProductTerms.objects.get(product__title=title)
        entitlement(tenant, terms.product, quantity, model=terms.default_license_model)
    recompute_tenant(tenant=tenant, as_of=AS_OF)


def run_both(tenant_a, tenant_b, change, changed_of):
    """Apply ``change(tenant)`` to both; A runs the delta ``changed_of(tenant)``, B a full run."""
    for tenant in (tenant_a, tenant_b):
        with scope(tenant=tenant):
            prepared(tenant)
    for tenant in (tenant_a, tenant_b):
        with scope(tenant=tenant):
            change(tenant)
    with scope(tenant=tenant_a):
        summary = recompute_tenant(tenant=tenant_a, as_of=AS_OF, changed=changed_of(tenant_a))
        delta = exports(tenant_a)
    with scope(tenant=tenant_b):
        recompute_tenant(tenant=tenant_b, as_of=AS_OF)
        full = exports(tenant_b)
    return summary, delta, full


def test_a_device_delta_equals_a_full_run(tenant_a, tenant_b):
    def change(tenant):
        Installation.objects.filter(device__name="PC-000").delete()
        Device.objects.filter(name="PC-001").update(status="disposed")

    summary, delta, full = run_both(tenant_a, tenant_b, change, lambda t: {"devices": list(
        Device.objects.filter(name__in=["PC-000", "PC-001"]).values_list("id", flat=True))})

    assert summary["scope"].startswith("consumers")
    assert summary["balance_scope"].startswith("products")
    assert delta == full


def test_a_person_delta_equals_a_full_run(tenant_a, tenant_b):
    summary, delta, full = run_both(
        tenant_a, tenant_b, lambda t: Person.objects.filter(username="user002").update(status="inactive"),
        lambda t: {"persons": list(Person.objects.filter(username="user002").values_list("id", flat=True))})

    assert summary["scope"].startswith("consumers")
    assert delta == full


def test_a_product_delta_equals_a_full_run(tenant_a, tenant_b):
    def change(tenant):
        TenantProductTerms.objects.filter(product__title="SQL").update(confirmation="automatic")

    summary, delta, full = run_both(tenant_a, tenant_b, change, lambda t: {"products": list(
        TenantProductTerms.objects.filter(product__title="SQL").values_list("product_id", flat=True))})

    assert summary["scope"].startswith("products")
    assert delta == full


def test_an_entitlement_delta_reallocates_only_its_components_and_equals_a_full_run(tenant_a, tenant_b):
    deleted: dict[int, int] = {}

    def change(tenant):
        office = Entitlement.objects.get(product__title="Office")
        office.quantity = Decimal(9)  # edited: 3 → 9
        office.save()
        chat = Entitlement.objects.get(product__title="Chat")
        deleted[tenant.id] = chat.id
        chat.delete()  # deleted: its stored allocations go with it (cascade)

    def changed_of(tenant):
        # The ids the entitlement services record: the edited one and the deleted one (gone now).
        return {"entitlements": [Entitlement.objects.get(product__title="Office").id, deleted[tenant.id]]}

    summary, delta, full = run_both(tenant_a, tenant_b, change, changed_of)

    assert summary["scope"] == "balance only"
    assert (summary["created"], summary["updated"], summary["deleted"]) == (0, 0, 0)
    # Office and Chat are re-allocated (two products of two titles); Windows Server is untouched.
    assert summary["balance_scope"] == "products (2)"
    assert delta == full
    with scope(tenant=tenant_a):
        office = BalanceRow.objects.get(product__title="Office", as_of=AS_OF)
        # 15 consumers minus 3 VMs = 12 computers with Office (each user has one device, so no
        # second copy); the edited license covers 9 of them: shortfall 12 - 9 = 3.
        assert (office.required, office.covered, office.shortfall) == (12, 9, 3)


def test_a_position_delta_after_a_confirmation_equals_a_full_run(tenant_a, tenant_b):
    def change(tenant):
        # A license manager confirms the (manual-mode) SQL requirements.
        Requirement.objects.filter(product__title="SQL").update(confirmation="confirmed", confirmed_by="lm")

    def changed_of(tenant):
        req = Requirement.objects.filter(product__title="SQL").first()
        return {"positions": [[req.product_id, req.license_model]]}

    summary, delta, full = run_both(tenant_a, tenant_b, change, changed_of)

    assert summary["scope"] == "balance only"
    assert summary["balance_scope"] == "products (1)"
    assert delta == full
    with scope(tenant=tenant_a):
        # 3 VMs (every fifth of 15) × max(2 vCPUs, 4) = 12 confirmed units now required.
        assert BalanceRow.objects.get(product__title="SQL", as_of=AS_OF).required == 12


def test_an_unknown_kind_of_change_runs_in_full(in_tenant_a):
    prepared(in_tenant_a)

    summary = recompute_tenant(tenant=in_tenant_a, as_of=AS_OF, changed={"tenant_settings": [1]})

    assert summary["scope"] == "full"
    assert "balance_scope" not in summary


def test_a_full_run_in_partitions_of_the_consumer_graph_equals_one_full_run(tenant_a, tenant_b, monkeypatch):
    from requirements_engine import engine

    summaries = {}
    for tenant, size in ((tenant_a, 6), (tenant_b, engine.PARTITION_SIZE)):
        monkeypatch.setattr(engine, "PARTITION_SIZE", size)
        with scope(tenant=tenant):
            prepared(tenant)
            Installation.objects.filter(device__name="PC-000").delete()
            Person.objects.filter(username="user002").update(status="inactive")
            summaries[tenant.id] = recompute_tenant(tenant=tenant, as_of=AS_OF)
    with scope(tenant=tenant_a):
        partitioned = exports(tenant_a)
    with scope(tenant=tenant_b):
        whole = exports(tenant_b)

    # 16 devices and 15 persons; components (host + its 3 VMs, each computer + its user) never split.
    assert summaries[tenant_a.id]["scope"].startswith("full (") and summaries[tenant_b.id]["scope"] == "full"
    assert partitioned == whole


def test_an_exempted_requirement_that_goes_away_leaves_its_exemption_on_the_consumer(in_tenant_a):
    from requirements_engine.models_balance import Exemption

    prepared(in_tenant_a)
    req = Requirement.objects.get(device__name="PC-000", product__title="Office")
    Exemption.objects.create(tenant=in_tenant_a, requirement=req, subject="PC-000 Office", reason="test lab")
    Installation.objects.filter(device__name="PC-000").delete()  # Office has a 90-day period: day 91

    recompute_tenant(tenant=in_tenant_a, as_of=AS_OF + dt.timedelta(days=91))

    assert not Requirement.objects.filter(device__name="PC-000", product__title="Office").exists()
    ex = Exemption.objects.get()
    assert (ex.requirement_id, ex.device.name, ex.product.title) == (None, "PC-000", "Office")
