"""Devices and persons edited and retired by hand: audited, and kept across the next import unless
the import changes that field."""
from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import Device, Person
from inventory.services import device_retire, device_update, person_retire
from sam.importing import import_file
from sam.models import AuditEvent
from tests.inventory.factories import DeviceFactory, PersonFactory

pytestmark = pytest.mark.django_db


def run(kind: str, text: str, tenant):
    return import_file(kind=kind, source=text.encode(), tenant=tenant, filename=f"{kind}.csv", recompute=False,
                       actor="test")


def test_a_hand_edit_is_audited_and_marked(in_tenant_a, cast):
    device = DeviceFactory(tenant=in_tenant_a, name="PC-1", processors=1, ram_gb=Decimal("8"))
    device_update(device=device, actor=cast["license_manager"], data={"processors": 2, "ram_gb": Decimal("16")})
    device.refresh_from_db()
    assert (device.processors, device.ram_gb) == (2, Decimal("16.00"))
    # The value the import had set is remembered per edited field.
    assert device.edited_fields == {"processors": 1, "ram_gb": "8"}
    [event] = AuditEvent.objects.filter(action="inventory.device.edited")
    assert event.before == {"processors": 1, "ram_gb": "8.00"} and event.after == {"processors": 2, "ram_gb": "16.00"}
    assert event.actor_label == "a-license_manager"


def test_the_next_import_keeps_a_hand_edit_when_it_sends_the_same_value(in_tenant_a, cast):
    run("devices", "name,status,processors\nPC-1,active,1\n", in_tenant_a)
    device = Device.objects.get(name="PC-1")
    device_retire(device=device, actor=cast["admin"])
    device_update(device=device, actor=cast["admin"], data={"processors": 4})
    # The same file again: status and processors did not change in the source, the hand values stay.
    result = run("devices", "name,status,processors\nPC-1,active,1\n", in_tenant_a)
    device.refresh_from_db()
    assert (device.status, device.processors) == ("retired", 4)
    assert result.unchanged == 1


def test_an_import_that_changes_the_field_wins(in_tenant_a, cast):
    run("devices", "name,status,processors\nPC-1,active,1\n", in_tenant_a)
    device = Device.objects.get(name="PC-1")
    device_update(device=device, actor=cast["admin"], data={"status": "retired", "processors": 4})
    # The source now says "in use" (a change), processors still 1 (no change).
    run("devices", "name,status,processors\nPC-1,in use,1\n", in_tenant_a)
    device.refresh_from_db()
    assert (device.status, device.processors) == ("in use", 4)
    assert device.edited_fields == {"processors": 1}  # status is the import's again
    # A file without the processors column leaves the hand value alone too.
    run("devices", "name,status\nPC-1,in use\n", in_tenant_a)
    device.refresh_from_db()
    assert device.processors == 4


def test_a_retired_person_stays_retired_across_the_same_import(in_tenant_a, cast):
    run("persons", "username,status,name\nann,active,Ann\n", in_tenant_a)
    person = Person.objects.get(username="ann")
    person_retire(person=person, actor=cast["admin"])
    run("persons", "username,status,name\nann,active,Ann Smith\n", in_tenant_a)
    person.refresh_from_db()
    assert (person.status, person.name) == ("inactive", "Ann Smith")
    [event] = AuditEvent.objects.filter(action="inventory.person.edited")
    assert event.before == {"status": "active"} and event.after == {"status": "inactive"}


def test_a_device_with_an_unknown_primary_user_is_imported_with_a_warning(in_tenant_a):
    PersonFactory(tenant=in_tenant_a, username="ann")
    result = run("devices", "name,primary_user\nPC-1,ann\nPC-2,ghost\n", in_tenant_a)
    assert (result.created, result.rejected) == (2, 0)
    assert result.warnings == ["Row 3, primary_user: person.unknown – no person with username 'ghost'; "
                               "imported without a primary user"]
    assert "Warnings: Row 3, primary_user: person.unknown" in result.summary()
    assert dict(Device.objects.values_list("name", "primary_user__username")) == {"PC-1": "ann", "PC-2": None}
