from __future__ import annotations

import pytest

from sam.models import Role
from tests.browser.conftest import login
from tests.factories import MembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_log_in_switch_tenant_and_see_the_dashboard(page, live_server):
    first = TenantFactory(slug="acme", name="Acme Corp")
    second = TenantFactory(slug="globex", name="Globex")
    # (Clearing-only users land on their cross-tenant workspace instead: tests/browser/test_clearing_workspace.py.)
    auditor = UserFactory(username="auditor")
    MembershipFactory(user=auditor, tenant=first, role=Role.AUDITOR)
    MembershipFactory(user=auditor, tenant=second, role=Role.AUDITOR)

    login(page, live_server, "auditor")
    # Two tenants: the picker lists both.
    assert page.locator("h1").inner_text() == "Your tenants"
    page.get_by_role("link", name="Acme Corp").click()
    assert page.locator("h1").inner_text() == "Acme Corp"
    page.select_option("#tenant-select", "globex")
    page.wait_for_url(f"{live_server.url}/t/globex/")
    assert page.locator("h1").inner_text() == "Globex"
    assert "Auditor" in page.locator("header").inner_text()
