"""A license manager records a license from a SKU, fixes a draft, publishes, filters and exports."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django_scopes import scope

from catalog.models import Product, Publisher, Sku
from entitlements import services
from entitlements.models import Entitlement, State
from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_from_sku_fix_publish_filter_pick_columns_and_export(page, live_server, cast, tenant_a):
    microsoft = Publisher.objects.create(name="Microsoft")
    sql = Product.objects.create(publisher=microsoft, title="SQL Server", version="2022", edition="Enterprise")
    Sku.objects.create(part_number="7JQ-01823", product=sql, description="SQL Server 2022 Enterprise 2-core pack",
                       units=Decimal(2), license_model="SQL Server Per Core")
    visio = Product.objects.create(publisher=microsoft, title="Visio", version="2021", edition="Professional")
    with scope(tenant=tenant_a):
        services.entitlement_create(tenant=tenant_a, actor="test", publish=True, data={
            "product": visio, "quantity": 5, "unit_cost": Decimal(100), "currency": "EUR", "identifier": "VIS-OLD"})

    login(page, live_server, "a-license_manager")
    page.goto(f"{live_server.url}/t/{tenant_a.slug}/entitlements/new/license/")
    page.fill("#id_identifier", "SQL-ENT-1")
    page.fill("#id_sku", "7JQ-01823")
    page.locator("#id_sku").dispatch_event("change")
    # The SKU prefills the product and locks what it decides.
    page.wait_for_selector('[data-locked="title"]')
    assert page.input_value("#id_title") == "SQL Server"
    assert page.input_value("#id_edition") == "Enterprise"
    assert page.is_disabled("#id_title") and page.is_disabled("#id_units")
    assert page.input_value("#id_units") in ("2", "2.00")

    # Save a draft without a quantity: it is kept, with the error named.
    page.fill("#id_unit_cost", "6874")
    page.click("#btn-draft")
    page.wait_for_selector("#entitlement-state")
    assert page.get_attribute("#entitlement-state", "data-state") == State.DRAFT_ERRORS
    assert "quantity.missing" in page.inner_text("#validation")

    # Fix it: the total and cost follow as the quantity is typed, then publish.
    page.fill("#id_quantity", "4")
    page.locator("#id_quantity").dispatch_event("change")
    page.wait_for_function("document.getElementById('out-total').textContent.trim() === '8'")
    assert page.inner_text("#out-cost").startswith("54992.00")  # 4 × 2 × 6874
    page.click("#btn-publish")
    page.wait_for_selector('#entitlement-state[data-state="published"]')
    with scope(tenant=tenant_a):
        ent = Entitlement.objects.get(identifier="SQL-ENT-1")
        assert ent.product == sql and ent.total == 8 and ent.sku == "7JQ-01823"

    # Filter the list by title.
    page.goto(f"{live_server.url}/t/{tenant_a.slug}/entitlements/")
    assert page.locator("#list-table").get_by_text("VIS-OLD").count() == 1
    page.select_option("#add-filter", "title")  # "+ filter" shows the field
    page.fill("#f-title", "SQL")
    page.press("#f-title", "Enter")
    page.wait_for_function("!document.getElementById('list-table').textContent.includes('VIS-OLD')")
    assert "SQL-ENT-1" in page.inner_text("#list-table")

    # Pick columns: identifier, title, total, status.
    page.click("text=Columns")
    for box in page.locator(".column-picker input[name=columns]").all():
        box.set_checked(box.get_attribute("value") in ("identifier", "title", "total_units", "state"))
    page.locator(".column-picker button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")
    headers = page.locator("#list-table thead th").all_inner_texts()
    assert [h.strip() for h in headers if h.strip()] == ["Status", "Title", "Identifier", "Total"]

    assert "VIS-OLD" not in page.inner_text("#list-table")  # the filter survives the column choice

    # Export the filtered rows as TSV.
    page.click("summary:has-text('Export')")
    with page.expect_download() as info:
        page.click("a:has-text('TSV')")
    content = open(info.value.path(), encoding="utf-8").read()
    lines = content.strip().split("\n")
    assert lines[0].split("\t") == ["Status", "Title", "Identifier", "Total"]
    assert lines[1:] == ["published\tSQL Server\tSQL-ENT-1\t8"]
