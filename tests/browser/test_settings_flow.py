"""An administrator sets what decides the numbers and invites a member, in Chromium."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django_scopes import scope

from sam.models import Membership, Role
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_setting_a_relevant_status_makes_requirements_appear(page, live_server, cast, tenant_a):
    from tests.requirements_engine.factories import DeviceFactory, install, licensed_product

    with scope(tenant=tenant_a):
        product = licensed_product(tenant_a, title="Draw", publisher="Contoso")
        for name, status in (("PC-DEPLOYED", "Deployed"), ("PC-STORE", "In Store")):
            install(DeviceFactory(tenant=tenant_a, name=name, status=status), product)

    login(page, live_server, "a-admin")
    page.goto(f"{live_server.url}/t/tenant-a/requirements/")
    assert "PC-DEPLOYED" not in page.locator("main").inner_text()

    page.get_by_role("link", name="Settings", exact=True).first.click()
    page.get_by_label("Deployed (1)").check()
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_load_state("networkidle")
    assert "Settings saved" in page.locator("#messages").inner_text()
    assert page.get_by_label("Deployed (1)").is_checked()
    screenshot(page, "settings")

    page.goto(f"{live_server.url}/t/tenant-a/requirements/")
    main = page.locator("main").inner_text()
    assert "PC-DEPLOYED" in main and "PC-STORE" not in main


def test_an_invited_member_sets_a_password_and_joins(page, live_server, cast, tenant_a, browser):
    login(page, live_server, "a-admin")
    page.goto(f"{live_server.url}/t/tenant-a/members/")
    # The least privileged role is preselected.
    assert page.locator("input[name=role][value=auditor]").is_checked()
    page.fill("#id_username", "newbie")
    page.check("input[name=role][value=license_manager]")
    page.get_by_role("button", name="Create invitation").click()
    link = page.locator("#invitation-link").input_value()
    assert "/invitations/" in link
    assert "newbie" in page.locator("#invitations").inner_text()

    # The invitee, in a browser of their own.
    context = browser.new_context(base_url=live_server.url)
    guest = context.new_page()
    guest.goto(link)
    assert "Join Tenant A" in guest.locator("h1").inner_text()
    assert guest.locator("#id_username").input_value() == "newbie"
    guest.fill("#id_password1", "passwordpassword")
    guest.fill("#id_password2", "passwordpassword")
    guest.get_by_role("button", name="Create account and join").click()
    assert "one short piece repeated" in guest.locator("main").inner_text()
    guest.fill("#id_password1", "Tulip-harbour-93")
    guest.fill("#id_password2", "Tulip-harbour-93")
    guest.get_by_role("button", name="Create account and join").click()
    guest.wait_for_url(f"{live_server.url}/t/tenant-a/")
    assert "newbie · License manager" in guest.locator("header").inner_text()
    context.close()

    user = get_user_model().objects.get(username="newbie")
    assert user.check_password("Tulip-harbour-93")
    assert Membership.objects.get(user=user, tenant=tenant_a).role == Role.LICENSE_MANAGER
    # The link is spent.
    page.goto(link)
    assert "already used" in page.locator("main").inner_text()
