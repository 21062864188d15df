"""A clerk who clears two customers works one workspace: fixes a line of each inline, maps a reseller's
part number "for all customers", and every line transfers in its own tenant; a third customer's line
with the same part number (a tenant the clerk does not serve) is cleared by the library alias."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django_scopes import scope

from entitlements.models import Entitlement
from receiving.models import LineStatus, PurchaseLine
from sam.models import AuditEvent, Membership, Role
from tests.browser.conftest import login, screenshot
from tests.factories import TenantFactory, UserFactory
from tests.receiving.conftest import catalog, line, org, receive, recomputes  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)


def bare(**overrides):
    return line(contract_number="", cost_center="", requester_email="", **overrides)


def test_one_workspace_two_customers_and_a_library_alias_for_all(page, live_server, org):  # noqa: F811
    tenant_c = TenantFactory(slug="tenant-c", name="Tenant C")
    tenant_b = TenantFactory(slug="tenant-b", name="Tenant B")  # the clerk does not serve B
    clerk = UserFactory(username="clerk")
    Membership.objects.create(user=clerk, tenant=org, role=Role.CLEARING)
    Membership.objects.create(user=clerk, tenant=tenant_c, role=Role.CLEARING)
    clerk.user_permissions.add(Permission.objects.get(codename="change_skualias", content_type__app_label="catalog"))
    receive(org, [line(po_line="1", cost_center="C9"), line(po_line="2", sku="RS-LIB-1")])
    receive(tenant_c, [bare(po_line="1", quantity="0"), bare(po_line="2", sku="RS-LIB-1", supplier="Other Reseller")])
    receive(tenant_b, [bare(po_line="1", sku="rs-lib-1")])

    login(page, live_server, "clerk")
    page.wait_for_url(re.compile(r".*/receiving/workspace/$"))  # clearing staff land on their workspace
    page.wait_for_selector("#ws-figures")
    assert page.locator('[data-kpi="waiting"]').inner_text().strip() == "4"
    rows = page.locator("#queue tbody tr")
    assert rows.count() == 4 and page.locator('#queue tr[data-tenant="tenant-b"]').count() == 0
    screenshot(page, "clearing-workspace")

    with scope(tenant=org):
        a_line = PurchaseLine.objects.get(po_line="1")
    with scope(tenant=tenant_c):
        c_line = PurchaseLine.objects.get(po_line="1")
    # Fix a line of each customer inline.
    for pk, field, value in ((a_line.pk, "cost_center", "C1"), (c_line.pk, "quantity", "3")):
        page.locator(f"#line-{pk}").get_by_role("button", name="Fix").click()
        page.wait_for_selector(f"#line-{pk} form")
        page.fill(f"#line-{pk} input[name={field}]", value)
        page.locator(f"#line-{pk}").get_by_role("button", name="Save and check again").click()
        page.wait_for_selector(f'#line-{pk}[data-status="transferred"]')

    # Map the reseller's part number once, for all customers.
    group = page.locator('#sku-groups tr[data-sku="RS-LIB-1"][data-tenant="tenant-a"]')
    group.locator("input[name=part_number]").fill("CD-24P")
    group.locator("select[name=scope]").select_option("library")
    group.get_by_role("button", name="Map").click()
    page.wait_for_load_state("networkidle")
    assert "1 of 1 waiting lines of Tenant A transferred" in page.locator(".messages").inner_text()
    page.wait_for_selector("#ws-figures")
    assert page.locator('[data-kpi="waiting"]').inner_text().strip() == "0"
    screenshot(page, "clearing-workspace-cleared")

    # Every line transferred in its own tenant, audited there by the clerk.
    for tenant, expected in ((org, 2), (tenant_c, 2), (tenant_b, 1)):
        with scope(tenant=tenant):
            assert not PurchaseLine.objects.filter(status=LineStatus.WAITING).exists()
            assert Entitlement.objects.filter(tenant=tenant).count() == expected
    with scope(tenant=org):
        assert AuditEvent.objects.filter(action="receiving.line.corrected", actor=clerk).count() == 1
        assert AuditEvent.objects.filter(action="catalog.library_alias.created").exists()
    with scope(tenant=tenant_c):
        assert AuditEvent.objects.filter(action="receiving.line.corrected", actor=clerk).count() == 1
    with scope(tenant=tenant_b):
        b_line = PurchaseLine.objects.get()
        # Cleared by the library alias, not by anything of B's own.
        assert b_line.resolved_sku == "CD-24P"
        assert any("alias library" in w["message"] for w in b_line.warnings)
