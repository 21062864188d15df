"""Clearing staff receive a procurement file with faulty lines, fix one inline and one by mapping an
unknown part number, and watch the lines leave the queue while the collection rate goes up."""
from __future__ import annotations

import re

import pytest
from django_scopes import scope

from entitlements.models import Entitlement
from receiving.models import LineStatus, PurchaseLine
from tests.browser.conftest import login, screenshot
from tests.receiving.conftest import catalog, csv_text, line, org, recomputes  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)


def kpi(page, name: str) -> str:
    return page.locator(f'[data-kpi="{name}"]').first.inner_text().strip()


def test_upload_see_reasons_fix_inline_and_by_alias_and_the_rate_rises(page, live_server, cast, org):  # noqa: F811
    lines = [line(po_line="1"), line(po_line="2", cost_center="C9"),
             line(po_line="3", sku="RS-DRAW-PRO"), line(po_line="4", sku="RS-DRAW-PRO", quantity="2")]
    data = csv_text(lines).encode("utf-8")

    login(page, live_server, "a-admin")
    page.goto(f"{live_server.url}/t/tenant-a/receiving/upload/")
    page.set_input_files("#id_file", {"name": "reseller-report.csv", "mimeType": "text/csv", "buffer": data})
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/receiving/upload/map/$"))
    # Columns were detected; the preview shows the first lines before anything is written.
    assert page.locator("#mapping select[name=col-0]").input_value() == "sku"
    assert "RS-DRAW-PRO" in page.locator("#preview").inner_text()
    with scope(tenant=org):
        assert not PurchaseLine.objects.exists()
    page.get_by_role("button", name="Import these lines").click()
    page.wait_for_selector(".job progress[value='100']")
    assert "1 transferred" in page.locator(".job").inner_text()

    page.get_by_text("Open the clearing queue").click()
    page.wait_for_selector("#recv-kpis")
    assert kpi(page, "waiting") == "3" and kpi(page, "rate") == "25.0 %"
    queue = page.locator("#queue")
    assert "cost_center.unknown" in queue.inner_text() and "sku.unknown" in queue.inner_text()
    assert "No cost center has the code" in queue.inner_text()
    screenshot(page, "receiving-queue")

    # Fix the cost center inline.
    with scope(tenant=org):
        faulty = PurchaseLine.objects.get(po_line="2")
    row = page.locator(f"#line-{faulty.pk}")
    row.get_by_role("button", name="Fix").click()
    page.wait_for_selector(f"#line-{faulty.pk} form")
    page.fill(f"#line-{faulty.pk} input[name=cost_center]", "C1")
    page.locator(f"#line-{faulty.pk}").get_by_role("button", name="Save and check again").click()
    page.wait_for_selector(f'#line-{faulty.pk}[data-status="transferred"]')
    page.wait_for_function("document.querySelector('[data-kpi=rate]').innerText.trim() === '50.0 %'")
    assert kpi(page, "waiting") == "2"

    # Map the reseller's part number to the catalog SKU: both lines carrying it clear at once.
    group = page.locator('#sku-groups tr[data-sku="RS-DRAW-PRO"]')
    group.locator("input[name=part_number]").press_sequentially("CD-2", delay=50)
    # The catalog's SKU autocomplete offers the part number.
    page.wait_for_selector('#sku-list option[value="CD-24P"]', state="attached")
    group.locator("input[name=part_number]").fill("CD-24P")
    group.get_by_role("button", name="Map").click()
    page.wait_for_load_state("networkidle")
    assert "2 of 2 waiting lines transferred" in page.locator(".messages").inner_text()
    page.wait_for_selector("#recv-kpis")
    assert kpi(page, "waiting") == "0" and kpi(page, "rate") == "100.0 %"
    assert "No lines match." in page.locator("#queue").inner_text()
    screenshot(page, "receiving-cleared")

    with scope(tenant=org):
        assert not PurchaseLine.objects.filter(status=LineStatus.WAITING).exists()
        assert Entitlement.objects.count() == 4
