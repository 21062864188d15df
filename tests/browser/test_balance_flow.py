"""A license manager publishes a license and watches its position's balance change, then exports it."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django_scopes import scope

from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def cell(page, product: str, column: str) -> str:
    return page.locator(f'#balance tr[data-product="{product}"] td[data-col="{column}"]').inner_text().strip()


def test_publishing_a_license_closes_the_shortfall_and_the_export_shows_it(page, live_server, cast, tenant_a):
    from catalog.models import LicenseModel, Product, ProductTerms, Publisher
    from entitlements.services import entitlement_create
    from inventory.models import Device
    from requirements_engine.models import Requirement
    from requirements_engine.services import recompute_now

    today = dt.date.today()
    LicenseModel.objects.get_or_create(name="Per Device", defaults={"metric": "device"})
    publisher, _ = Publisher.objects.get_or_create(name="Contoso")
    product = Product.objects.create(publisher=publisher, title="Draw", version="2024", edition="Pro")
    ProductTerms.objects.create(product=product, default_license_model="Per Device")
    with scope(tenant=tenant_a):
        for name in ("PC-1", "PC-2"):
            device = Device.objects.create(tenant=tenant_a, name=name)
            # Entered by hand (manual): the engine keeps it as it is on every recompute.
            Requirement.objects.create(tenant=tenant_a, consumer_type="device", device=device, product=product,
                                       license_model="Per Device", quantity=1, confirmation="confirmed",
                                       manual=True)
        recompute_now(tenant=tenant_a, as_of=today)
        draft = entitlement_create(tenant=tenant_a, actor=cast["license_manager"], publish=False, data={
            "type": "license", "product": product, "license_model": "Per Device", "quantity": 2,
            "po_number": "PO-77", "unit_cost": 300})
        assert draft.status == "draft"

    login(page, live_server, "a-license_manager")
    page.goto(f"{live_server.url}/t/tenant-a/requirements/balance/")
    position = "Contoso Draw 2024 Pro"
    assert (cell(page, position, "required"), cell(page, position, "covered"), cell(page, position, "shortfall")) == (
        "2", "0", "2")

    # Publish the draft from the entitlements list (bulk action); publishing requests a recompute
    # (inline without a broker, on the worker otherwise).
    page.goto(f"{live_server.url}/t/tenant-a/entitlements/")
    page.check(f'input[name="selected"][value="{draft.pk}"]')
    page.click('#bulk-form button[value="publish"]')
    page.wait_for_load_state("networkidle")
    with scope(tenant=tenant_a):
        draft.refresh_from_db()
        assert draft.status == "published"

    page.goto(f"{live_server.url}/t/tenant-a/requirements/balance/")
    assert (cell(page, position, "covered"), cell(page, position, "shortfall"), cell(page, position, "purchased")) == (
        "2", "0", "2")

    page.locator("summary", has_text="Export").click()
    with page.expect_download() as info:
        page.click("#export-tsv")
    download = info.value
    assert download.suggested_filename == f"tenant-a-balance-{today.isoformat()}.tsv"
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read()), delimiter="\t"))
    draw = next(r for r in rows if r["product"] == "Draw")
    assert (draw["required"], draw["covered"], draw["shortfall"], draw["status"]) == ("2", "2", "0", "compliant")
