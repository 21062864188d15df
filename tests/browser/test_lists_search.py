"""The filter bar and the global search, in Chromium."""
from __future__ import annotations

import csv

import pytest
from django_scopes import scope

from tests.browser.conftest import login, screenshot
from tests.inventory.factories import DeviceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_filter_chips_then_export_exactly_those_rows(page, live_server, cast, tenant_a):
    with scope(tenant=tenant_a):
        for i in range(12):
            DeviceFactory(tenant=tenant_a, name=f"SRV-{i:02d}" if i < 6 else f"WS-{i:02d}",
                          role="server" if i < 6 else "workstation", status="Deployed" if i % 2 else "in store")
    login(page, live_server, "a-auditor")
    page.goto(f"{live_server.url}/t/tenant-a/inventory/")
    assert page.locator("#list-count").inner_text() == "12 rows"

    page.select_option("#add-filter", "role")
    page.select_option("#f-role", "server")
    page.wait_for_function("document.getElementById('list-count').textContent.trim() === '6 rows'")
    page.select_option("#add-filter", "status")
    page.select_option("#f-status", "Deployed")
    page.wait_for_function("document.getElementById('list-count').textContent.trim() === '3 rows'")
    chips = page.locator("#filter-chips .chip")
    assert chips.count() == 2
    texts = chips.all_inner_texts()
    assert any("Role" in t and "Server" in t for t in texts) and any("Deployed" in t for t in texts)
    screenshot(page, "filter-chips")

    # The export links were refreshed with the filters: the file has exactly the three rows.
    page.locator("#list-export summary").click()
    with page.expect_download() as info:
        # (Pico's open dropdown lays a click-catcher over the page; dispatch the link's click.)
        page.locator("#export-tsv").dispatch_event("click")
    rows = list(csv.reader(open(info.value.path(), encoding="utf-8"), delimiter="\t"))
    names = sorted(r[0] for r in rows[1:])
    assert names == ["SRV-01", "SRV-03", "SRV-05"]  # servers with odd numbers are Deployed

    page.locator("#list-export summary").click()  # close the menu again
    # Removing a chip drops that filter only.
    page.locator('#filter-chips .chip[data-filter="status"] .chip-remove').click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#list-count").inner_text() == "6 rows"


def test_the_global_search_finds_a_device_a_sku_and_a_license(page, live_server, cast, tenant_a):
    from tests.sam.test_search import _estate

    _estate(tenant_a, cast)
    login(page, live_server, "a-license_manager")
    page.fill("#global-q", "orion")
    page.press("#global-q", "Enter")
    page.wait_for_url("**/search/?q=orion")
    assert page.locator("#results-devices").get_by_role("link", name="ORION-PC-1").count() == 1
    assert page.locator("#results-skus").get_by_role("link", name="ORION-SKU-9").count() == 1
    assert page.locator("#results-licenses").get_by_role("link", name="Contoso Orion Draw 2024").count() == 1
    screenshot(page, "global-search")
    page.locator("#results-devices").get_by_role("link", name="ORION-PC-1").click()
    assert "ORION-PC-1" in page.locator("h1").inner_text()
