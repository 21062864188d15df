from __future__ import annotations

import pytest

from sam.models import Role
from tests.browser.conftest import login
from tests.factories import MembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_log_in_switch_tenant_and_see_the_dashboard(page, live_server):
    first = TenantFactory(slug="acme", name="Acme Corp")
    second = TenantFactory(slug="globex", name="Globex")
    clerk = UserFactory(username="clerk")
    MembershipFactory(user=clerk, tenant=first, role=Role.CLEARING)
    MembershipFactory(user=clerk, tenant=second, role=Role.CLEARING)

    login(page, live_server, "clerk")
    # Two tenants: the picker lists both.
    assert page.locator("h1").inner_text() == "Your tenants"
    page.get_by_role("link", name="Acme Corp").click()
    assert page.locator("h1").inner_text() == "Acme Corp"
    page.select_option("#tenant-select", "globex")
    page.wait_for_url(f"{live_server.url}/t/globex/")
    assert page.locator("h1").inner_text() == "Globex"
    assert "Clearing staff" in page.locator("header").inner_text()
