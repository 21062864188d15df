"""An auditor looks at a future and a past day; the license manager still sees today, and nothing was stored."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django_scopes import scope

from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_auditor_reading_other_days_changes_nothing_for_anyone(page, live_server, cast, tenant_a):
    from requirements_engine.models import Allocation, BalanceRow
    from requirements_engine.services import recompute_now
    from tests.requirements_engine.balance_builders import (
        device,
        entitlement,
        license_model,
        product,
        requirement,
    )

    today = dt.date.today()
    past = today - dt.timedelta(days=10)
    with scope(tenant=tenant_a):
        license_model("Per Device")
        draw = product("Contoso", "Draw", "2024", "Pro")
        entitlement(tenant_a, draw, 1)
        for name in ("PC-1", "PC-2"):
            requirement(tenant_a, draw, 1, consumer=device(tenant_a, name), model="Per Device", manual=True)
        recompute_now(tenant=tenant_a, as_of=past)
        recompute_now(tenant=tenant_a, as_of=today)
        stored = sorted(BalanceRow.objects.values_list("id", "as_of", "required", "covered"))
        allocations = sorted(Allocation.objects.values_list("id", "as_of"))
    assert {d for _i, d, _r, _c in stored} == {past, today}

    login(page, live_server, "a-auditor")
    base = f"{live_server.url}/t/tenant-a/requirements/balance/"
    page.goto(base + "?as_of=2027-06-30")
    notice = page.locator("#day-missing").inner_text()
    assert "There is no stored balance of 2027-06-30" in notice
    # The nearest stored days are offered; the auditor follows one to the past day's snapshot.
    assert page.locator("#day-missing a.nearest-day").all_inner_texts() == [past.isoformat(), today.isoformat()]
    page.locator("#compute-day").click()
    page.wait_for_load_state("networkidle")
    assert "Computed view, not stored." in page.locator("#day-computed").inner_text()
    page.goto(base + f"?as_of={past.isoformat()}")
    assert f"Stored balance of {past.isoformat()}" in page.locator("#day-stored").inner_text()
    row = page.locator('#balance tr[data-product="Contoso Draw 2024 Pro"]')
    # Two PCs need Draw 2024, one license: required 2, covered 1, shortfall 2 - 1 = 1.
    assert row.locator('td[data-col="shortfall"]').inner_text().strip() == "1"
    page.goto(f"{live_server.url}/t/tenant-a/requirements/balance/dashboard/?as_of=2027-06-30")
    assert "There is no stored balance of 2027-06-30" in page.locator("#day-missing").inner_text()
    page.goto(base + "?as_of=2026-02-30")
    assert "is not a valid day" in page.locator("#day-error").inner_text()

    # The license manager, afterwards, sees today on the dashboard and the balance.
    page.context.clear_cookies()
    login(page, live_server, "a-license_manager")
    page.goto(f"{live_server.url}/t/tenant-a/")
    assert f"as of {today.isoformat()}" in page.locator("body").inner_text()
    page.goto(f"{live_server.url}/t/tenant-a/requirements/balance/dashboard/")
    assert page.locator("h1 small").inner_text().strip() == today.isoformat()
    page.goto(base)
    assert f"on {today.isoformat()}" in page.locator("#balance-table p.muted").first.inner_text()
    assert page.locator("#day-missing").count() == 0

    with scope(tenant=tenant_a):
        assert sorted(BalanceRow.objects.values_list("id", "as_of", "required", "covered")) == stored
        assert sorted(Allocation.objects.values_list("id", "as_of")) == allocations
        assert not BalanceRow.objects.filter(as_of=dt.date(2027, 6, 30)).exists()
        assert BalanceRow.objects.get(as_of=today).covered == Decimal(1)
