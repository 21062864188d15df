"""License math of the requirement engine: small estates, numbers computed by hand."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from requirements_engine.engine import recompute_tenant
from requirements_engine.models import FoundationKind, Requirement
from tests.requirements_engine.factories import (
    DeviceFactory,
    GroupMembershipFactory,
    PersonFactory,
    VmPlacementFactory,
    assign,
    install,
    licensed_product,
)

AS_OF = dt.date(2026, 6, 15)
pytestmark = pytest.mark.django_db


def run(tenant, as_of=AS_OF) -> dict[str, Requirement]:
    recompute_tenant(tenant=tenant, as_of=as_of)
    return requirements_by_consumer()


def requirements_by_consumer() -> dict[str, Requirement]:
    out = {}
    for r in Requirement.objects.select_related("device", "person", "product"):
        label = r.device.name if r.device_id else r.person.username
        out[f"{label}|{r.product.title}"] = r
    return out


def test_sql_server_enterprise_per_core_on_two_ten_core_processors_needs_20(in_tenant_a):
    # SQL Server per core on a physical server: max(cores_per_processor, 4) * processors = 10 * 2.
    sql = licensed_product(in_tenant_a, title="SQL Server Enterprise", assignment="ose", metric="core",
                           quantity="max(cores_per_processor, 4) * processors")
    srv = DeviceFactory(tenant=in_tenant_a, name="SQL-1", role="server", power="on", processors=2,
                        cores_per_processor=10)
    install(srv, sql)

    req = run(in_tenant_a)["SQL-1|SQL Server Enterprise"]

    assert req.quantity == 20
    assert req.expression == "max(cores_per_processor, 4) * processors"
    assert req.expression_values == {"cores_per_processor": 10, "processors": 2}
    assert req.error == ""


def test_a_two_vcpu_vm_per_ose_needs_the_minimum_of_four(in_tenant_a):
    sql = licensed_product(in_tenant_a, title="SQL Server Standard", assignment="ose", metric="core",
                           quantity="max(vcpus, 4)")
    vm = VmPlacementFactory(tenant=in_tenant_a, vm__name="VM-1", vm__vcpus=2, host__name="HOST-1").vm
    install(vm, sql)

    reqs = run(in_tenant_a)

    assert reqs["VM-1|SQL Server Standard"].quantity == 4
    assert not reqs["VM-1|SQL Server Standard"].is_secondary
    assert "HOST-1|SQL Server Standard" not in reqs  # OSE: the virtual computer itself


def test_windows_server_datacenter_on_two_six_core_processors_needs_16(in_tenant_a):
    # Windows Server per core: at least 8 per processor and 16 per server → max(max(6, 8) * 2, 16).
    win = licensed_product(in_tenant_a, title="Windows Server Datacenter", metric="core",
                           quantity="max(max(cores_per_processor, 8) * processors, 16)")
    host = DeviceFactory(tenant=in_tenant_a, name="HV-1", role="server", power="on", processors=2,
                         cores_per_processor=6)
    install(host, win)

    assert run(in_tenant_a)["HV-1|Windows Server Datacenter"].quantity == 16


def test_a_vm_per_device_is_consolidated_onto_its_host(in_tenant_a):
    win = licensed_product(in_tenant_a, title="Windows Server Datacenter", metric="core",
                           quantity="max(max(cores_per_processor, 8) * processors, 16)")
    placement = VmPlacementFactory(tenant=in_tenant_a, vm__name="VM-1", host__name="HV-1", host__processors=2,
                                   host__cores_per_processor=12, valid_from=dt.date(2026, 1, 1))
    install(placement.vm, win)

    reqs = run(in_tenant_a)

    vm_req, host_req = reqs["VM-1|Windows Server Datacenter"], reqs["HV-1|Windows Server Datacenter"]
    assert vm_req.is_secondary and vm_req.quantity == 0
    assert list(vm_req.consolidated_into.all()) == [host_req]
    assert host_req.quantity == 24 and not host_req.is_secondary
    consolidation = host_req.foundations.get()
    assert consolidation.kind == FoundationKind.CONSOLIDATION and "VM-1" in consolidation.source


@pytest.mark.parametrize(("left_days_ago", "host_needed"), [(30, True), (100, False)])
def test_a_vm_moved_off_a_host_keeps_it_licensed_within_the_90_day_period(in_tenant_a, left_days_ago,
                                                                          host_needed):
    office = licensed_product(in_tenant_a, title="Office", min_days=90)
    old = VmPlacementFactory(tenant=in_tenant_a, vm__name="VM-1", host__name="OLD-HOST",
                             valid_from=dt.date(2025, 1, 1), valid_to=AS_OF - dt.timedelta(days=left_days_ago))
    new_host = DeviceFactory(tenant=in_tenant_a, name="NEW-HOST", role="server", power="on")
    VmPlacementFactory(tenant=in_tenant_a, vm=old.vm, host=new_host, valid_from=old.valid_to)
    install(old.vm, office)

    reqs = run(in_tenant_a)

    assert ("OLD-HOST|Office" in reqs) is host_needed
    assert reqs["NEW-HOST|Office"].quantity == 1
    assert reqs["VM-1|Office"].consolidated_into.count() == (2 if host_needed else 1)


def test_a_vm_without_a_known_host_is_an_error_not_a_silent_drop(in_tenant_a):
    office = licensed_product(in_tenant_a, title="Office")
    vm = DeviceFactory(tenant=in_tenant_a, name="VM-LOST", kind="virtual", role="server", power="on")
    install(vm, office)

    req = run(in_tenant_a)["VM-LOST|Office"]

    assert req.error == "virtual machine has no known host"
    assert req.quantity == 0


def test_a_powered_off_server_needs_nothing(in_tenant_a):
    db = licensed_product(in_tenant_a, title="DB", assignment="ose", quantity="max(cores_per_processor, 4) * processors")
    srv = DeviceFactory(tenant=in_tenant_a, name="SRV-2", role="server", power="off", processors=2,
                        cores_per_processor=8)
    install(srv, db)

    assert run(in_tenant_a) == {}


def test_an_inactive_group_member_needs_nothing(in_tenant_a):
    chat = licensed_product(in_tenant_a, title="Chat", assignment="named_user", metric="user")
    assign(in_tenant_a, kind="group", key="GRP-Chat", product=chat)
    ann = PersonFactory(tenant=in_tenant_a, username="ann")
    ben = PersonFactory(tenant=in_tenant_a, username="ben", status="inactive")
    for person in (ann, ben):
        GroupMembershipFactory(group__tenant=in_tenant_a, group__name="GRP-Chat", person=person)

    reqs = run(in_tenant_a)

    assert list(reqs) == ["ann|Chat"]
    assert reqs["ann|Chat"].foundations.get().source == "group GRP-Chat"


def test_desktop_and_laptop_of_one_user_under_device_with_second_copy_need_one_license(in_tenant_a):
    office = licensed_product(in_tenant_a, title="Office", assignment="device_second_copy")
    ann = PersonFactory(tenant=in_tenant_a, username="ann")
    desktop = DeviceFactory(tenant=in_tenant_a, name="PC-ANN", primary_user=ann)
    laptop = DeviceFactory(tenant=in_tenant_a, name="NB-ANN", role="laptop", primary_user=ann)
    install(desktop, office)
    install(laptop, office)

    reqs = run(in_tenant_a)

    assert sum(r.quantity for r in reqs.values()) == 1
    assert reqs["NB-ANN|Office"].is_secondary and reqs["NB-ANN|Office"].quantity == 0
    assert "second copy of PC-ANN" in reqs["NB-ANN|Office"].note
    assert list(reqs["NB-ANN|Office"].consolidated_into.all()) == [reqs["PC-ANN|Office"]]


def test_named_user_moves_a_computer_installation_to_its_principal_user(in_tenant_a):
    visio = licensed_product(in_tenant_a, title="Visio", assignment="named_user", metric="user")
    ann = PersonFactory(tenant=in_tenant_a, username="ann")
    install(DeviceFactory(tenant=in_tenant_a, name="PC-ANN", primary_user=ann), visio)
    install(DeviceFactory(tenant=in_tenant_a, name="PC-NOBODY"), visio)

    reqs = run(in_tenant_a)

    assert reqs["ann|Visio"].quantity == 1
    assert reqs["PC-ANN|Visio"].is_secondary
    assert reqs["PC-NOBODY|Visio"].error == "computer has no principal user"


def test_a_person_per_device_is_licensed_on_their_computers_and_mobiles(in_tenant_a):
    app = licensed_product(in_tenant_a, title="App")
    assign(in_tenant_a, kind="group", key="GRP-App", product=app)
    ann = PersonFactory(tenant=in_tenant_a, username="ann")
    DeviceFactory(tenant=in_tenant_a, name="PC-ANN", primary_user=ann)
    DeviceFactory(tenant=in_tenant_a, name="PHONE-ANN", kind="mobile", role="laptop", primary_user=ann)
    DeviceFactory(tenant=in_tenant_a, name="VM-ANN", kind="virtual", primary_user=ann)
    GroupMembershipFactory(group__tenant=in_tenant_a, group__name="GRP-App", person=ann)

    reqs = run(in_tenant_a)

    assert sorted(k for k, r in reqs.items() if not r.is_secondary) == ["PC-ANN|App", "PHONE-ANN|App"]
    assert reqs["ann|App"].is_secondary


def test_an_expression_missing_a_fact_is_an_error_with_quantity_zero(in_tenant_a):
    db = licensed_product(in_tenant_a, title="DB", assignment="ose", quantity="cores * core_factor",
                          rounding="position")
    install(DeviceFactory(tenant=in_tenant_a, name="SRV-X", role="server", power="on", processors=2), db)

    req = run(in_tenant_a)["SRV-X|DB"]

    assert req.quantity == 0
    assert "quantity cannot be computed" in req.error


def test_position_rounding_keeps_fractions_and_stores_the_core_factor(in_tenant_a):
    from catalog.models import TenantProcessorModel

    TenantProcessorModel.objects.create(tenant=in_tenant_a, model="Xeon*", core_factor=Decimal("0.5"))
    oracle = licensed_product(in_tenant_a, title="Oracle DB EE", assignment="ose", metric="processor",
                              quantity="cores * core_factor", rounding="position")
    install(DeviceFactory(tenant=in_tenant_a, name="ORA-1", role="server", power="on", processors=1,
                          cores_per_processor=7, processor_model="Xeon Gold"), oracle)

    req = run(in_tenant_a)["ORA-1|Oracle DB EE"]

    assert req.quantity == Decimal("3.5")
    assert req.core_factor == Decimal("0.5")


def test_an_ineffective_license_model_gives_quantity_zero(in_tenant_a):
    tool = licensed_product(in_tenant_a, title="Tool", effective=False)
    install(DeviceFactory(tenant=in_tenant_a, name="PC-1"), tool)

    req = run(in_tenant_a)["PC-1|Tool"]

    assert (req.quantity, req.effective) == (0, False)


def test_a_product_without_a_license_model_is_an_error(in_tenant_a):
    from tests.requirements_engine.factories import ProductFactory

    bare = ProductFactory(title="Bare")
    install(DeviceFactory(tenant=in_tenant_a, name="PC-1"), bare)

    req = run(in_tenant_a)["PC-1|Bare"]

    assert req.error == "product has no license model" and req.quantity == 0


def test_collateral_requirement_follows_its_source_product(in_tenant_a):
    sharepoint = licensed_product(in_tenant_a, title="SharePoint", assignment="ose")
    sql = licensed_product(in_tenant_a, title="SQL Server", assignment="ose")
    assign(in_tenant_a, kind="dependency", product=sql, source_product=sharepoint)
    install(DeviceFactory(tenant=in_tenant_a, name="SP-1", role="server", power="on"), sharepoint)

    reqs = run(in_tenant_a)

    foundation = reqs["SP-1|SQL Server"].foundations.get()
    assert foundation.kind == FoundationKind.COLLATERAL and "SharePoint" in foundation.source


def test_remote_usage_and_service_booking_found_requirements_on_the_person(in_tenant_a):
    from tests.requirements_engine.factories import RemoteUsageFactory, ServiceBookingFactory

    cad = licensed_product(in_tenant_a, title="CAD", assignment="named_user", confirmation="manual")
    assign(in_tenant_a, kind="executable", key="cad.exe", product=cad)
    assign(in_tenant_a, kind="service", key="CAD seat", product=cad)
    ann = PersonFactory(tenant=in_tenant_a, username="ann")
    bob = PersonFactory(tenant=in_tenant_a, username="bob")
    RemoteUsageFactory(person=ann, executable="CAD.exe", host__name="TS-1")
    ServiceBookingFactory(person=bob, service="CAD seat", status="approved")

    reqs = run(in_tenant_a)

    assert reqs["ann|CAD"].foundations.get().kind == FoundationKind.REMOTE
    assert reqs["ann|CAD"].confirmation == "unconfirmed"  # manual confirmation mode
    assert reqs["bob|CAD"].foundations.get().kind == FoundationKind.BOOKING
    assert reqs["bob|CAD"].confirmation == "confirmed"  # approved booking confirms
