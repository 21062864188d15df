"""The device and person pages: edit and retire by hand (license managers and admins)."""
from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope

from inventory.models import Device, Person
from sam.models import AuditEvent
from tests.inventory.factories import DeviceFactory, PersonFactory

pytestmark = pytest.mark.django_db


def _url(tenant, name, pk):
    return reverse(f"inventory:{name}", kwargs={"tenant": tenant.slug, "pk": pk})


def test_a_license_manager_edits_a_device(client, cast, tenant_a):
    with scope(tenant=tenant_a):
        ann = PersonFactory(tenant=tenant_a, username="ann")
        device = DeviceFactory(tenant=tenant_a, name="PC-1", processors=1, threads=None, vcpus=None,
                               cores_per_processor=None, processor_model="", ram_gb=None, power="")
    client.force_login(cast["license_manager"])
    form = client.get(_url(tenant_a, "device-edit", device.pk))
    assert form.status_code == 200
    response = client.post(_url(tenant_a, "device-edit", device.pk), {
        "kind": "physical", "role": "server", "status": "active", "power": "on", "processors": "2",
        "cores_per_processor": "8", "threads": "", "vcpus": "", "processor_model": "Xeon", "ram_gb": "64",
        "primary_user_name": "ANN"})
    assert response.status_code == 302
    with scope(tenant=tenant_a):
        device.refresh_from_db()
        assert (device.role, device.power, device.processors, device.primary_user_id) == ("server", "on", 2, ann.pk)
        assert set(device.edited_fields) == {"role", "power", "processors", "cores_per_processor",
                                             "processor_model", "ram_gb", "primary_user_id"}
        assert AuditEvent.objects.filter(action="inventory.device.edited").count() == 1


def test_errors_stand_beside_their_field_and_nothing_is_saved(client, cast, tenant_a):
    with scope(tenant=tenant_a):
        device = DeviceFactory(tenant=tenant_a, name="PC-1", processors=1)
    client.force_login(cast["admin"])
    response = client.post(_url(tenant_a, "device-edit", device.pk), {
        "kind": "physical", "role": "workstation", "status": "active", "processors": "-3", "ram_gb": "-1",
        "primary_user_name": "ghost"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_ram_gb-error"' in page and 'id="id_primary_user_name-error"' in page
    assert "No person with the user name ghost" in page
    with scope(tenant=tenant_a):
        device.refresh_from_db()
        assert device.processors == 1 and device.edited_fields == {}


def test_retire_a_device_and_a_person(client, cast, tenant_a):
    with scope(tenant=tenant_a):
        device = DeviceFactory(tenant=tenant_a, name="PC-1")
        person = PersonFactory(tenant=tenant_a, username="bob")
    client.force_login(cast["license_manager"])
    assert client.get(_url(tenant_a, "device-retire", device.pk)).status_code == 405  # a GET changes nothing
    assert client.post(_url(tenant_a, "device-retire", device.pk)).status_code == 302
    assert client.post(_url(tenant_a, "person-retire", person.pk)).status_code == 302
    with scope(tenant=tenant_a):
        assert Device.objects.get(pk=device.pk).status == "retired"
        assert Person.objects.get(pk=person.pk).status == "inactive"
    page = client.get(_url(tenant_a, "device", device.pk)).content.decode()
    assert "not relevant" in page and "Edited by hand" in page


def test_auditors_see_no_edit_buttons_and_cannot_post(client, cast, tenant_a):
    with scope(tenant=tenant_a):
        device = DeviceFactory(tenant=tenant_a, name="PC-1")
    client.force_login(cast["auditor"])
    assert 'id="edit-device"' not in client.get(_url(tenant_a, "device", device.pk)).content.decode()
    assert client.post(_url(tenant_a, "device-retire", device.pk)).status_code == 403
    assert client.get(_url(tenant_a, "device-edit", device.pk)).status_code == 403
