"""A license manager classifies unknown software in the browser; a later rules import keeps the choice."""
from __future__ import annotations

import pytest
from django_scopes import scope

from catalog.services import product_get_or_create
from inventory.models import Device, Fingerprint, Installation
from sam.importing import import_file
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

RULES = b"""publisher,name,version,product_publisher,product,product_version,product_edition,classification
Contoso Ltd,Contoso Draw*,*,Contoso,Draw,2024,Pro,
Acme*,Acme*,*,,,,,irrelevant
"""


def test_a_person_classifies_unknown_software_and_a_rules_reimport_keeps_it(page, live_server, cast, tenant_a):
    product = product_get_or_create(publisher="Contoso", title="Draw", version="2024", edition="Pro")
    product_get_or_create(publisher="Contoso", title="Paint", version="3", edition="")
    with scope(tenant=tenant_a):
        pcs = [Device.objects.create(tenant=tenant_a, name=f"PC-{i}") for i in range(3)]
        widget = Fingerprint.objects.create(tenant=tenant_a, publisher="Acme Corp", name="Acme Widget", version="1.0")
        rare = Fingerprint.objects.create(tenant=tenant_a, publisher="Other", name="Rare Tool", version="9")
        for pc in pcs:
            Installation.objects.create(tenant=tenant_a, device=pc, fingerprint=widget)
        Installation.objects.create(tenant=tenant_a, device=pcs[0], fingerprint=rare)

    login(page, live_server, "a-license_manager")
    page.goto(f"{live_server.url}/t/{tenant_a.slug}/inventory/recognition/")
    rows = page.locator("#fingerprint-queue tbody tr")
    # Most installed first.
    assert "Acme Widget" in rows.nth(0).inner_text()
    assert "Rare Tool" in rows.nth(1).inner_text()

    row = page.locator(f"#fp-{widget.pk}")
    row.locator("select[name=classification]").select_option("product")
    with page.expect_response(lambda r: "autocomplete/products" in r.url):
        row.locator("input[name=q]").fill("draw 2024")
    row.locator("select[name=product]").select_option(str(product.pk))
    row.get_by_role("button", name="Save").click()
    status = page.locator(f"#fp-{widget.pk} [role=status]")
    status.wait_for()
    assert "Contoso Draw 2024 Pro" in status.inner_text()
    screenshot(page, "catalog-classify")

    # The rules now say Acme software is irrelevant: the person's choice still stands.
    with scope(tenant=tenant_a):
        result = import_file(kind="fingerprints", source=RULES, tenant=tenant_a, filename="rules.csv",
                             recompute=False)
        assert result.rejected == 0 and result.created == 2
        widget.refresh_from_db()
        assert (widget.classification, widget.product_id, widget.manual) == ("product", product.pk, True)
        assert widget.classified_by == "a-license_manager"

    page.goto(f"{live_server.url}/t/{tenant_a.slug}/inventory/recognition/")
    queue = page.locator("#fingerprint-queue").inner_text()
    assert "Acme Widget" not in queue and "Rare Tool" in queue
    page.goto(f"{live_server.url}/t/{tenant_a.slug}/catalog/products/{product.pk}/")
    assert "Acme Widget" in page.locator("main").inner_text()
