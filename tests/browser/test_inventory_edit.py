"""A license manager edits and retires a device by hand, in Chromium."""
from __future__ import annotations

import pytest
from django_scopes import scope

from inventory.models import Device
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_edit_and_retire_a_device(page, live_server, cast, tenant_a):
    from tests.inventory.factories import DeviceFactory, PersonFactory

    with scope(tenant=tenant_a):
        PersonFactory(tenant=tenant_a, username="ann")
        device = DeviceFactory(tenant=tenant_a, name="PC-EDIT", processors=1, status="active")

    login(page, live_server, "a-license_manager")
    page.goto(f"{live_server.url}/t/tenant-a/inventory/devices/{device.pk}/")
    page.click("#edit-device")
    page.fill("#id_processors", "4")
    page.fill("#id_ram_gb", "-2")
    page.get_by_role("button", name="Save").click()
    # The error stands beside its field; nothing was saved.
    assert "negative" in page.locator("#id_ram_gb-error").inner_text()
    page.fill("#id_ram_gb", "32")
    page.fill("#id_primary_user_name", "ann")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}/t/tenant-a/inventory/devices/{device.pk}/")
    assert "Device saved" in page.locator("#messages").inner_text()
    assert "ann" in page.locator("main").inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#retire-device")
    page.wait_for_load_state("networkidle")
    assert "PC-EDIT retired" in page.locator("#messages").inner_text()
    assert "not relevant" in page.locator("h1").inner_text()
    screenshot(page, "device-retired")
    with scope(tenant=tenant_a):
        device = Device.objects.get(pk=device.pk)
        assert (device.status, device.processors, device.primary_user.username) == ("retired", 4, "ann")
        assert {"status", "processors", "ram_gb", "primary_user_id"} <= set(device.edited_fields)
