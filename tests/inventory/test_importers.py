"""The estate's importers: upsert of entities, replacement of snapshots, row-level reasons."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django_scopes import scope

from inventory.models import (
    CostCenter,
    Device,
    Fingerprint,
    Group,
    GroupMembership,
    Installation,
    InventorySnapshot,
    Person,
    RemoteUsage,
    ServiceBooking,
    VmPlacement,
)
from sam.importing import import_file
from sam.models import AuditEvent
from tests.inventory.factories import (
    CostCenterFactory,
    DeviceFactory,
    InstallationFactory,
    PersonFactory,
    VmPlacementFactory,
)

pytestmark = pytest.mark.django_db


def run(kind: str, text: str, tenant, **kwargs):
    return import_file(kind=kind, source=text.encode(), tenant=tenant, filename=f"{kind}.csv", recompute=False,
                       actor="test", **kwargs)


def codes(result) -> list[str]:
    """'Row 3, kind: kind.invalid – ...' -> 'Row 3, kind: kind.invalid'."""
    return [e.split(" – ")[0] for e in result.errors]


# --- cost centers and persons -----------------------------------------------------------------

def test_cost_centers_are_created_then_unchanged_then_updated(in_tenant_a):
    result = run("cost_centers", "code,name\nC1,Operations\nC2,Sales\n", in_tenant_a)
    assert (result.read, result.created, result.updated, result.rejected) == (2, 2, 0, 0)
    assert run("cost_centers", "code,name\nC1,Operations\nC2,Sales\n", in_tenant_a).unchanged == 2
    result = run("cost_centers", "Code;Name\nC1;Ops\n", in_tenant_a)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert CostCenter.objects.get(code="C1").name == "Ops"
    assert CostCenter.objects.filter(code="C2").exists(), "an entity missing from the file is kept"


def test_persons_resolve_cost_centers_and_normalise_status(in_tenant_a):
    CostCenterFactory(tenant=in_tenant_a, code="C1")
    result = run("persons", "Login,Mail,Display Name,Status,Cost Center\n"
                            "ann,ann@x.test,Ann,Active,C1\nben,,Ben,DISABLED,c1\ncid,,,,\n", in_tenant_a)
    assert (result.created, result.rejected) == (3, 0), result.errors
    ann, ben, cid = Person.objects.order_by("username")
    assert (ann.status, ann.cost_center.code, ann.email) == ("active", "C1", "ann@x.test")
    assert (ben.status, ben.cost_center.code) == ("inactive", "C1")
    assert (cid.status, cid.cost_center) == ("active", None)


def test_a_person_with_an_unknown_cost_center_or_status_is_rejected_and_others_apply(in_tenant_a):
    result = run("persons", "username,status,cost_center\nann,active,NOPE\nben,retired,\ncid,active,\n", in_tenant_a)
    assert codes(result) == ["Row 2, cost_center: cost_center.unknown", "Row 3, status: status.invalid"]
    assert list(Person.objects.values_list("username", flat=True)) == ["cid"]


def test_an_empty_status_keeps_the_persons_status(in_tenant_a):
    PersonFactory(tenant=in_tenant_a, username="ben", status="inactive")
    result = run("persons", "username,status\nben,\nnew,\n", in_tenant_a)
    assert (result.created, result.unchanged) == (1, 1)
    assert dict(Person.objects.values_list("username", "status")) == {"ben": "inactive", "new": "active"}


def test_usernames_match_case_insensitively_and_duplicates_in_the_file_are_rejected(in_tenant_a):
    PersonFactory(tenant=in_tenant_a, username="Ann", name="Old")
    result = run("persons", "username,name\nann,New\nANN,Again\n", in_tenant_a)
    assert (result.updated, result.created) == (1, 0)
    assert codes(result) == ["Row 3: row.duplicate"]
    assert list(Person.objects.values_list("username", "name")) == [("Ann", "New")]


# --- devices ------------------------------------------------------------------------------------

DEVICE_HEADER = "name,kind,role,status,power,processors,cores_per_processor,threads,vcpus,processor_model,ram_gb,primary_user\n"


def test_devices_normalise_enumerations_case_insensitively(in_tenant_a):
    PersonFactory(tenant=in_tenant_a, username="ann")
    result = run("devices", DEVICE_HEADER
                 + "VM-1,Virtual Machine,Server,In  Use,Powered On,,,,4,,8,\n"
                 + "NB-1,physical,Notebook,ACTIVE,,1,4,8,,Intel i7,16.5,ANN\n"
                 + "SRV-1,Physical,SERVER,active,poweredOff,2,8,32,,Xeon,64,\n"
                 + "PH-1,mobile,,,,,,,,,,\n", in_tenant_a)
    assert (result.created, result.rejected) == (4, 0), result.errors
    vm, nb, srv, ph = (Device.objects.get(name=n) for n in ("VM-1", "NB-1", "SRV-1", "PH-1"))
    assert (vm.kind, vm.role, vm.status, vm.power, vm.vcpus, vm.ram_gb) == ("virtual", "server", "in use", "on", 4,
                                                                           Decimal("8"))
    assert (nb.role, nb.status, nb.primary_user.username, nb.ram_gb) == ("laptop", "active", "ann", Decimal("16.50"))
    assert (srv.power, srv.processors, srv.cores_per_processor) == ("off", 2, 8)
    assert (ph.kind, ph.role, ph.status) == ("mobile", "workstation", "active"), "empty cells take the defaults"


def test_hostile_device_rows_are_rejected_with_stable_codes_and_write_nothing(in_tenant_a):
    text = (DEVICE_HEADER
            + "D-1,robot,,,,,,,,,,\n"
            + "D-2,,desk-lamp,,,,,,,,,\n"
            + "D-3,,,,sleeping,,,,,,,\n"
            + "D-4,,,,,two,,,,,,\n"
            + "D-5,,,,,-1,,,,,,\n"
            + "D-6,,,,,1.5,,,,,,\n"
            + "D-7,,,,,,,,,,lots,\n"
            + "D-8,,,,,,,,,,,nobody\n"
            + ",physical,,,,,,,,,,\n"
            + "=cmd|' /C calc'!A0,,,,,99999999999,,,,,,\n"
            + "D-9,,,,,,,,,,1e400,\n"
            + f"{'X' * 201},,,,,,,,,,,\n"
            + "OK-1,,,,,,,,,,,\n")
    result = run("devices", text, in_tenant_a)
    assert codes(result) == [
        "Row 2, kind: kind.invalid", "Row 3, role: role.invalid", "Row 4, power: power.invalid",
        "Row 5, processors: value.number", "Row 6, processors: value.number", "Row 7, processors: value.integer",
        "Row 8, ram_gb: value.number", "Row 10, name: value.required",
        "Row 11, processors: value.number", "Row 12, ram_gb: value.number", "Row 13, name: value.too_long",
    ]
    # D-8 names an unknown primary user: imported without one, with a warning (not rejected).
    assert [w.split(" –")[0] for w in result.warnings] == ["Row 9, primary_user: person.unknown"]
    assert list(Device.objects.values_list("name", "primary_user")) == [("D-8", None), ("OK-1", None)]


def test_a_device_update_touches_only_the_columns_of_the_file(in_tenant_a):
    DeviceFactory(tenant=in_tenant_a, name="PC-1", ram_gb=Decimal("32"), kind="physical", status="in use")
    result = run("devices", "Hostname,Sockets,Kind,Status,Colour\npc-1,2,,,blue\n", in_tenant_a)
    assert (result.updated, result.created) == (1, 0)
    assert result.unknown_columns == ["Colour"]
    assert "Ignored unknown columns: Colour" in result.summary()
    device = Device.objects.get()
    assert (device.name, device.processors, device.ram_gb) == ("PC-1", 2, Decimal("32.00"))
    assert (device.kind, device.status) == ("physical", "in use"), "an empty enumeration keeps the current value"


def test_a_device_missing_from_the_file_is_kept(in_tenant_a):
    DeviceFactory(tenant=in_tenant_a, name="OLD")
    result = run("devices", "name\nNEW\n", in_tenant_a)
    assert (result.created, result.deleted) == (1, 0)
    assert set(Device.objects.values_list("name", flat=True)) == {"OLD", "NEW"}


def test_a_header_only_file_reads_zero_rows_and_changes_nothing(in_tenant_a):
    DeviceFactory(tenant=in_tenant_a, name="PC-1")
    result = run("devices", DEVICE_HEADER, in_tenant_a)
    assert (result.read, result.created, result.updated, result.deleted, result.rejected) == (0, 0, 0, 0, 0)
    assert Device.objects.count() == 1


def test_references_never_cross_tenants(cast, tenant_a, tenant_b):
    with scope(tenant=tenant_b):
        PersonFactory(tenant=tenant_b, username="ann")
        DeviceFactory(tenant=tenant_b, name="PC-1")
    with scope(tenant=tenant_a):
        result = run("devices", "name,primary_user\nPC-2,ann\n", tenant_a)
        assert codes(result) == [] and result.warnings[0].startswith("Row 2, primary_user: person.unknown")
        assert Device.objects.get(name="PC-2").primary_user_id is None
        result = run("installations", "device,name\nPC-1,Visio\n", tenant_a)
        assert codes(result) == ["Row 2, device: device.unknown"]


# --- vm_hosts -----------------------------------------------------------------------------------

def test_vm_hosts_replace_the_history_and_a_header_only_file_empties_it(in_tenant_a):
    for name in ("VM-1", "VM-2", "HOST-A", "HOST-B"):
        DeviceFactory(tenant=in_tenant_a, name=name)
    text = ("vm,host,from,to\nVM-1,HOST-A,2026-01-01,2026-05-01\nVM-1,HOST-B,2026-05-01,\n"
            "vm-2,host-a,,\n")
    result = run("vm_hosts", text, in_tenant_a)
    assert (result.created, result.rejected) == (3, 0), result.errors
    assert run("vm_hosts", text, in_tenant_a).unchanged == 3
    result = run("vm_hosts", "VM,Host,From,To\nVM-1,HOST-B,2026-05-01,2026-06-01\n", in_tenant_a)
    assert (result.created, result.updated, result.unchanged, result.deleted) == (0, 1, 0, 2)
    placement = VmPlacement.objects.select_related("vm", "host").get()
    assert (placement.vm.name, placement.host.name, placement.valid_to) == ("VM-1", "HOST-B", dt.date(2026, 6, 1))
    result = run("vm_hosts", "vm,host,from,to\n", in_tenant_a)
    assert (result.read, result.deleted, result.rejected) == (0, 1, 0)
    assert not VmPlacement.objects.exists()


def test_vm_host_rows_with_faults_are_rejected_with_codes(in_tenant_a):
    for name in ("VM-1", "VM-2", "VM-3", "HOST-A", "HOST-B"):
        DeviceFactory(tenant=in_tenant_a, name=name)
    result = run("vm_hosts", "vm,host,from,to\n"
                             "VM-9,HOST-A,,\n"
                             "VM-1,HOST-Z,,\n"
                             "VM-1,VM-1,,\n"
                             "VM-1,HOST-A,2026-13-01,\n"
                             "VM-2,HOST-A,2026-05-01,2026-04-01\n"
                             "VM-3,HOST-A,2026-01-01,\n"
                             "VM-3,HOST-B,2026-03-01,\n", in_tenant_a)
    assert codes(result) == [
        "Row 2, vm: device.unknown", "Row 3, host: device.unknown", "Row 4, host: placement.self",
        "Row 5, from: value.date", "Row 6, to: date.order", "Row 8, from: placement.overlap",
    ]
    assert VmPlacement.objects.count() == 1


def test_a_rejected_placement_row_keeps_the_placement_it_names(in_tenant_a):
    placement = VmPlacementFactory(vm__tenant=in_tenant_a, valid_from=dt.date(2026, 1, 1))
    result = run("vm_hosts", f"vm,host,from,to\n{placement.vm.name},{placement.host.name},2026-01-01,someday\n",
                 in_tenant_a)
    assert codes(result) == ["Row 2, to: value.date"]
    assert result.deleted == 0 and VmPlacement.objects.filter(pk=placement.pk).exists()


# --- installations ------------------------------------------------------------------------------

def test_installations_create_fingerprints_once_and_replace_the_snapshot(in_tenant_a, recognition):
    for name in ("PC-1", "PC-2"):
        DeviceFactory(tenant=in_tenant_a, name=name)
    text = ("device,publisher,name,version,last_seen\n"
            "PC-1,Microsoft Corporation,Microsoft Visio Professional 2021,16.0,2026-06-01\n"
            "PC-2,Microsoft Corporation,Microsoft Visio Professional 2021,16.0,2026-06-02\n"
            "PC-2,Notepad++ Team,Notepad++,8.6,\n")
    result = run("installations", text, in_tenant_a)
    assert (result.created, result.rejected, result.extra["new_fingerprints"]) == (3, 0, 2)
    assert Fingerprint.objects.count() == 2
    assert recognition == [sorted(Fingerprint.objects.values_list("pk", flat=True))]
    again = run("installations", text, in_tenant_a)
    assert (again.unchanged, again.created, again.extra["new_fingerprints"]) == (3, 0, 0)
    assert len(recognition) == 1, "known fingerprints are not recognised again"
    result = run("installations", "Computer Name,Manufacturer,Display Name,Display Version,Last Scan\n"
                                  "PC-1,Microsoft Corporation,Microsoft Visio Professional 2021,16.0,2026-07-01\n",
                 in_tenant_a)
    assert (result.updated, result.deleted, result.created) == (1, 2, 0)
    installation = Installation.objects.select_related("device").get()
    assert (installation.device.name, installation.last_seen) == ("PC-1", dt.date(2026, 7, 1))
    assert Fingerprint.objects.count() == 2, "fingerprints outlive installations (the catalog classifies them)"


def test_installations_import_classifies_new_fingerprints_by_the_catalog_rules(in_tenant_a):
    from catalog.models import Classification, FingerprintRule

    FingerprintRule.objects.create(publisher="*", name="Visio*", version="*", classification=Classification.IRRELEVANT)
    DeviceFactory(tenant=in_tenant_a, name="PC-1")
    result = run("installations", "device,name\nPC-1,Visio\n", in_tenant_a)
    assert result.created == 1
    assert Fingerprint.objects.get().classification == Classification.IRRELEVANT


def test_installation_faults_are_rejected_and_a_bad_date_keeps_the_installation(in_tenant_a, recognition):
    installation = InstallationFactory(device=DeviceFactory(tenant=in_tenant_a, name="PC-1"),
                                       fingerprint__publisher="Adobe", fingerprint__name="Acrobat",
                                       fingerprint__version="24")
    other = InstallationFactory(device=installation.device)
    result = run("installations", "device,publisher,name,version,last_seen\n"
                                  "PC-1,Adobe,Acrobat,24,31/12/2026\n"
                                  "PC-9,Adobe,Acrobat,24,\n"
                                  ",Adobe,Acrobat,24,\n"
                                  "PC-1,Adobe,,24,\n", in_tenant_a)
    assert codes(result) == ["Row 2, last_seen: value.date", "Row 3, device: device.unknown",
                             "Row 4, device: value.required", "Row 5, name: value.required"]
    assert list(Installation.objects.values_list("pk", flat=True)) == [installation.pk]
    assert result.deleted == 1 and not Installation.objects.filter(pk=other.pk).exists()


def test_the_same_installation_twice_keeps_the_latest_last_seen(in_tenant_a, recognition):
    DeviceFactory(tenant=in_tenant_a, name="PC-1")
    result = run("installations", "device,name,last_seen\nPC-1,Visio,2026-01-01\nPC-1,Visio,2026-03-01\n"
                                  "PC-1,Visio,\n", in_tenant_a)
    assert (result.created, result.extra["merged"], result.rejected) == (1, 2, 0)
    assert Installation.objects.get().last_seen == dt.date(2026, 3, 1)


# --- group memberships --------------------------------------------------------------------------

def test_members_are_persons_first_then_devices_and_groups_appear_on_the_fly(in_tenant_a):
    PersonFactory(tenant=in_tenant_a, username="ann")
    DeviceFactory(tenant=in_tenant_a, name="ann")  # same name: the person wins
    DeviceFactory(tenant=in_tenant_a, name="PC-1")
    result = run("group_memberships", "group,member\nGRP-Visio,ann\nGRP-Visio,pc-1\ngrp-visio,PC-1\n"
                                      "GRP-Visio,nobody\n,ann\n", in_tenant_a)
    assert codes(result) == ["Row 5, member: member.unknown", "Row 6, group: value.required"]
    assert (result.created, result.extra["merged"], result.extra["groups_created"]) == (2, 1, 1)
    assert Group.objects.get().name == "GRP-Visio"
    members = {(m.person and m.person.username, m.device and m.device.name) for m in GroupMembership.objects.all()}
    assert members == {("ann", None), (None, "PC-1")}
    result = run("group_memberships", "group,member\nGRP-Project,ann\n", in_tenant_a)
    assert (result.created, result.deleted) == (1, 2)
    assert set(Group.objects.values_list("name", flat=True)) == {"GRP-Visio", "GRP-Project"}
    result = run("group_memberships", "group,member\n", in_tenant_a)
    assert result.deleted == 1 and not GroupMembership.objects.exists()


# --- remote usage and service bookings --------------------------------------------------------

def test_remote_usage_replaces_and_rejects_unknown_users_and_hosts(in_tenant_a):
    PersonFactory(tenant=in_tenant_a, username="ann")
    DeviceFactory(tenant=in_tenant_a, name="RDS-1", role="server", power="on")
    result = run("remote_usage", "user,host,executable,last_used\nann,RDS-1,WINWORD.EXE,2026-06-01\n"
                                 "bob,RDS-1,visio.exe,\nann,RDS-9,visio.exe,\nann,RDS-1,,\n", in_tenant_a)
    assert codes(result) == ["Row 3, user: person.unknown", "Row 4, host: device.unknown",
                             "Row 5, executable: value.required"]
    assert result.created == 1
    result = run("remote_usage", "user,host,executable,last_used\nann,rds-1,visio.exe,\n", in_tenant_a)
    assert (result.created, result.deleted) == (1, 1)
    assert list(RemoteUsage.objects.values_list("executable", flat=True)) == ["visio.exe"]


def test_service_bookings_normalise_status_and_replace(in_tenant_a):
    PersonFactory(tenant=in_tenant_a, username="ann")
    result = run("service_bookings", "user,service,status,date\nann,Visio,Approved,2026-02-01\n"
                                     "ann,Project,canceled,\nann,CAD,maybe,\nann,Acrobat,,2026-02-30\n", in_tenant_a)
    assert codes(result) == ["Row 4, status: status.invalid", "Row 5, date: value.date"]
    assert dict(ServiceBooking.objects.values_list("service", "status")) == {"Visio": "approved",
                                                                             "Project": "cancelled"}
    result = run("service_bookings", "user,service,status\nann,Visio,rejected\n", in_tenant_a)
    assert (result.updated, result.deleted) == (1, 1)


# --- bookkeeping ---------------------------------------------------------------------------------

def test_each_import_records_its_snapshot_and_an_audit_event(in_tenant_a):
    run("cost_centers", "code\nC1\nC1\n", in_tenant_a)
    snapshot = InventorySnapshot.objects.get(kind="cost_centers")
    assert (snapshot.read, snapshot.created, snapshot.rejected, snapshot.filename) == (2, 1, 1, "cost_centers.csv")
    assert snapshot.errors == ["Row 3: row.duplicate – 'C1' appears more than once in the file"]
    event = AuditEvent.objects.get(action="inventory.cost_centers.imported")
    assert (event.actor_label, event.after["created"]) == ("test", 1)
    run("cost_centers", "code\nC1\n", in_tenant_a)
    assert InventorySnapshot.objects.get(kind="cost_centers").unchanged == 1
    assert AuditEvent.objects.filter(action="inventory.cost_centers.imported").count() == 1, "no change, no event"


def test_the_acceptance_estate_imports_without_rejections(in_tenant_a):
    from pathlib import Path

    folder = Path("/work/shared/acceptance/estate-demo")
    if not folder.exists():
        pytest.skip("acceptance files not present")
    for kind in ("cost_centers", "persons", "devices", "vm_hosts", "installations", "group_memberships"):
        result = import_file(kind=kind, source=folder / f"{kind}.csv", tenant=in_tenant_a, recompute=False)
        assert result.rejected == 0, result.summary()
    assert Device.objects.count() == 4 and Installation.objects.count() == 5


# --- query budget -------------------------------------------------------------------------------

# SQLite binds at most 999 values per statement, so Django splits bulk writes into batches of
# 999 / columns rows: the budgets below allow those batches for 1,000 rows, far below a query per row.
@pytest.mark.parametrize("n", [10, 1000])
def test_imports_cost_a_bounded_number_of_queries(in_tenant_a, django_assert_max_num_queries, recognition, n):
    people = "".join(f"user{i},User {i},active\n" for i in range(n))
    # One read per chunk of keys (hand edits, the changed persons' ids): 1,000 rows are two chunks.
    with django_assert_max_num_queries(26):
        assert run("persons", "username,name,status\n" + people, in_tenant_a).created == n
    devices = "".join(f"PC-{i},physical,workstation,active,,1,4,8,,i5,16,user{i}\n" for i in range(n))
    with django_assert_max_num_queries(32):
        assert run("devices", DEVICE_HEADER + devices, in_tenant_a).created == n
    changed = devices.replace(",16,", ",32,")
    with django_assert_max_num_queries(30):
        assert run("devices", DEVICE_HEADER + changed, in_tenant_a).updated == n
    installs = "".join(f"PC-{i},Microsoft,Microsoft Office Professional Plus 2021,16.0.{i % 7},2026-06-01\n"
                       f"PC-{i},Adobe,Acrobat Reader,24,\n" for i in range(n))
    with django_assert_max_num_queries(28):
        assert run("installations", "device,publisher,name,version,last_seen\n" + installs,
                   in_tenant_a).created == 2 * n
    assert len(recognition[0]) == min(n, 7) + 1, "recognition is asked once, about the new fingerprints"
    with django_assert_max_num_queries(16):
        assert run("installations", "device,publisher,name,version,last_seen\n"
                   + "".join(f"PC-{i},Adobe,Acrobat Reader,24,\n" for i in range(n)), in_tenant_a).deleted == n
    members = "".join(f"GRP-{i % 5},user{i}\nGRP-{i % 5},PC-{i}\n" for i in range(n))
    with django_assert_max_num_queries(34):
        assert run("group_memberships", "group,member\n" + members, in_tenant_a).created == 2 * n
    placements = "".join(f"PC-{i},PC-{(i + 1) % n},2026-01-01,\n" for i in range(n))
    with django_assert_max_num_queries(22):
        assert run("vm_hosts", "vm,host,from,to\n" + placements, in_tenant_a).created == n
