"""Estate imports name the consumers they touched as change events (the engine recomputes just those)."""
from __future__ import annotations

import pytest

from catalog.models import Classification, FingerprintRule
from inventory.models import Device, Fingerprint
from inventory.recognition import fingerprint_classify
from sam.importing import import_file
from sam.models import ChangeEvent
from tests.catalog.factories import ProductFactory
from tests.inventory.factories import DeviceFactory, InstallationFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_drain(monkeypatch):
    """Record only: the engine's drain is not what these tests look at."""
    monkeypatch.setattr("sam.changes._drain_handler", None)


def recorded() -> list[tuple[str, list]]:
    return [(e.kind, e.ids) for e in ChangeEvent.objects.order_by("id")]


def imported(kind: str, text: str, tenant) -> list[tuple[str, list]]:
    ChangeEvent.objects.all().delete()
    import_file(kind=kind, source=text.encode(), tenant=tenant, filename=f"{kind}.csv", actor="test")
    return recorded()


def test_devices_and_persons_imports_name_the_rows_they_created_or_changed(in_tenant_a):
    kept = DeviceFactory(tenant=in_tenant_a, name="PC-1", status="active")
    moved = DeviceFactory(tenant=in_tenant_a, name="PC-2", status="active")
    events = imported("devices", "name,status\nPC-1,active\nPC-2,retired\nPC-3,active\n", in_tenant_a)
    new = Device.objects.get(name="PC-3")
    assert events == [("devices", sorted([moved.pk, new.pk]))], f"{kept.name} did not change"

    ann = PersonFactory(tenant=in_tenant_a, username="ann", status="active")
    PersonFactory(tenant=in_tenant_a, username="bob", status="active")
    assert imported("persons", "username,status\nann,inactive\nbob,active\n", in_tenant_a) == [("persons", [ann.pk])]


def test_snapshot_imports_name_both_sides_of_what_they_replaced(in_tenant_a):
    vm, host, other = (DeviceFactory(tenant=in_tenant_a, name=n) for n in ("VM-1", "HOST-1", "HOST-2"))
    ann, bob = PersonFactory(tenant=in_tenant_a, username="ann"), PersonFactory(tenant=in_tenant_a, username="bob")

    assert imported("vm_hosts", "vm,host,from\nVM-1,HOST-1,2026-01-01\n", in_tenant_a) == [
        ("devices", sorted([vm.pk, host.pk]))]
    assert imported("group_memberships", "group,member\nSQL Users,ann\nSQL Users,HOST-2\n", in_tenant_a) == [
        ("devices", [other.pk]), ("persons", [ann.pk])]
    assert imported("remote_usage", "user,host,executable\nbob,HOST-1,excel.exe\n", in_tenant_a) == [
        ("devices", [host.pk]), ("persons", [bob.pk])]
    assert imported("service_bookings", "user,service,status\nann,Visio,approved\n", in_tenant_a) == [
        ("persons", [ann.pk])]
    # The same file again changes nothing, so nothing is recorded.
    assert imported("service_bookings", "user,service,status\nann,Visio,approved\n", in_tenant_a) == []


def test_classifying_a_fingerprint_names_the_devices_it_is_installed_on(in_tenant_a, cast):
    pc, laptop, _idle = (DeviceFactory(tenant=in_tenant_a, name=n) for n in ("PC-1", "LAP-1", "PC-9"))
    fp = Fingerprint.objects.create(tenant=in_tenant_a, publisher="Acme", name="Widget", version="2")
    for device in (pc, laptop):
        InstallationFactory(tenant=in_tenant_a, device=device, fingerprint=fp)
    product = ProductFactory()
    fingerprint_classify(tenant=in_tenant_a, fingerprint=fp, classification=Classification.PRODUCT, product=product,
                         actor=cast["license_manager"])
    assert recorded() == [("devices", sorted([pc.pk, laptop.pk]))]


def test_a_master_recognition_rule_names_the_devices_whose_software_changed_product(in_tenant_a):
    pc = DeviceFactory(tenant=in_tenant_a, name="PC-1")
    DeviceFactory(tenant=in_tenant_a, name="PC-2")
    fp = Fingerprint.objects.create(tenant=in_tenant_a, publisher="Acme", name="Acme Updater", version="1")
    InstallationFactory(tenant=in_tenant_a, device=pc, fingerprint=fp)
    import_file(kind="fingerprints", source=b"publisher,name,version,classification\nAcme,Acme Updater*,*,irrelevant\n",
                tenant=None, filename="rules.csv", recompute=False)
    assert FingerprintRule.objects.count() == 1
    assert recorded() == [("devices", [pc.pk])]
