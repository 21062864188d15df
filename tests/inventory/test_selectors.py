"""What the engine reads: relevance of devices and persons, hardware facts, VM hosts on a day."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django_scopes import scope

from inventory.selectors import device_facts, relevant_device_ids, relevant_person_ids, vm_host_map
from tests.inventory.factories import DeviceFactory, PersonFactory, VmPlacementFactory

pytestmark = pytest.mark.django_db


def test_relevant_devices_follow_status_and_server_power(in_tenant_a):
    t = in_tenant_a
    pc = DeviceFactory(tenant=t, name="PC", status="active")
    in_use = DeviceFactory(tenant=t, name="IN-USE", status="In Use")  # written by hand, not normalised
    disposed = DeviceFactory(tenant=t, name="DISPOSED", status="disposed")
    server_on = DeviceFactory(tenant=t, name="SRV-ON", role="server", power="on")
    server_off = DeviceFactory(tenant=t, name="SRV-OFF", role="server", power="off")
    server_unknown = DeviceFactory(tenant=t, name="SRV-UNKNOWN", role="server", power="")
    disposed_server = DeviceFactory(tenant=t, name="SRV-DISPOSED", role="server", power="on", status="disposed")
    laptop_off = DeviceFactory(tenant=t, name="NB-OFF", role="laptop", power="off")
    assert set(relevant_device_ids(tenant=t)) == {pc.pk, in_use.pk, server_on.pk, laptop_off.pk}
    assert not {disposed.pk, server_off.pk, server_unknown.pk, disposed_server.pk} & set(relevant_device_ids(tenant=t))


def test_the_tenant_chooses_its_relevant_statuses(in_tenant_a):
    in_tenant_a.relevant_device_statuses = ["Deployed "]
    in_tenant_a.save()
    deployed = DeviceFactory(tenant=in_tenant_a, status="deployed")
    DeviceFactory(tenant=in_tenant_a, status="active")
    assert list(relevant_device_ids(tenant=in_tenant_a)) == [deployed.pk]


def test_only_active_persons_are_relevant_and_tenants_stay_apart(tenant_a, tenant_b):
    with scope(tenant=tenant_b):
        PersonFactory(tenant=tenant_b, username="foreign")
    with scope(tenant=tenant_a):
        ann = PersonFactory(tenant=tenant_a, username="ann")
        PersonFactory(tenant=tenant_a, username="ben", status="inactive")
        assert list(relevant_person_ids(tenant=tenant_a)) == [ann.pk]


def test_device_facts_are_named_like_expression_variables(in_tenant_a):
    server = DeviceFactory(tenant=in_tenant_a, role="server", processors=2, cores_per_processor=12, threads=48,
                           ram_gb=Decimal("256"), processor_model="Intel Xeon Gold 6342")
    vm = DeviceFactory(tenant=in_tenant_a, kind="virtual", role="server", processors=None, cores_per_processor=None,
                       threads=None, vcpus=6)
    facts = device_facts(tenant=in_tenant_a)
    assert facts[server.pk] | {"core_factor": None, "pvu_per_core": None} == {
        "processors": 2, "cores": 24, "cores_per_processor": 12, "threads": 48, "vcpus": None,
        "ram_gb": Decimal("256.00"), "is_virtual": False, "is_server": True,
        "processor_model": "Intel Xeon Gold 6342", "core_factor": None, "pvu_per_core": None,
    }
    assert (facts[vm.pk]["cores"], facts[vm.pk]["vcpus"], facts[vm.pk]["is_virtual"]) == (None, 6, True)
    assert set(device_facts(tenant=in_tenant_a, device_ids=[vm.pk])) == {vm.pk}


def test_device_facts_take_core_factor_and_pvu_from_the_processor_table(in_tenant_a, monkeypatch):
    import inventory.selectors as selectors

    asked = []

    def lookup(model, sockets):
        asked.append((model, sockets))
        return (0.5, 70) if model.startswith("Intel Xeon") else (None, None)

    monkeypatch.setattr(selectors, "_processor_lookup", lambda *, tenant: lookup)
    xeon = DeviceFactory(tenant=in_tenant_a, processors=2, processor_model="Intel Xeon Gold 6342")
    other = DeviceFactory(tenant=in_tenant_a, processors=1, processor_model="")
    facts = device_facts(tenant=in_tenant_a)
    assert (facts[xeon.pk]["core_factor"], facts[xeon.pk]["pvu_per_core"]) == (Decimal("0.5"), 70)
    assert (facts[other.pk]["core_factor"], facts[other.pk]["pvu_per_core"]) == (None, None)
    assert asked == [("Intel Xeon Gold 6342", 2)], "devices without a model are not looked up"


def test_device_facts_cost_two_queries_however_many_devices(in_tenant_a, django_assert_max_num_queries):
    for _ in range(30):
        DeviceFactory(tenant=in_tenant_a)
    with django_assert_max_num_queries(3):
        assert len(device_facts(tenant=in_tenant_a)) == 30


def test_the_vm_host_on_a_day_follows_the_placement_history(in_tenant_a):
    vm = DeviceFactory(tenant=in_tenant_a, name="VM", kind="virtual")
    old, new = (DeviceFactory(tenant=in_tenant_a, name=n, role="server") for n in ("OLD", "NEW"))
    moved = dt.date(2026, 5, 1)
    VmPlacementFactory(vm=vm, host=old, valid_from=dt.date(2025, 1, 1), valid_to=moved)
    VmPlacementFactory(vm=vm, host=new, valid_from=moved, valid_to=None)
    assert vm_host_map(tenant=in_tenant_a, as_of=dt.date(2026, 4, 30)) == {vm.pk: old.pk}
    assert vm_host_map(tenant=in_tenant_a, as_of=moved) == {vm.pk: new.pk}, "on the day of the move, the new host"
    assert vm_host_map(tenant=in_tenant_a, as_of=dt.date(2030, 1, 1)) == {vm.pk: new.pk}
    assert vm_host_map(tenant=in_tenant_a, as_of=dt.date(2024, 12, 31)) == {}
