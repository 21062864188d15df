"""Life cycle of requirements across recomputes: periods, manual rows, confirmation, idempotence,
interrupted runs, incremental runs and the query budget."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from catalog.models import TenantProductAssignment
from inventory.models import Device, GroupMembership, Installation
from requirements_engine.confirmations import (
    requirement_manual_save,
    requirements_confirm,
    requirements_mark_unauthorised,
)
from requirements_engine.engine import recompute_tenant, requirements_compute
from requirements_engine.models import Foundation, FoundationKind, Requirement
from requirements_engine.selectors_requirements import requirement_export_rows
from sam.models import AuditEvent
from tests.factories import TenantFactory
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


def day(n: int) -> dt.date:
    return AS_OF + dt.timedelta(days=n)


def exported(tenant) -> list[list]:
    return [list(map(str, row)) for row in requirement_export_rows(tenant=tenant)]


def test_a_removed_installation_keeps_its_foundation_within_the_period_and_drops_after(in_tenant_a):
    office = licensed_product(in_tenant_a, title="Office", min_days=90)
    pc = DeviceFactory(tenant=in_tenant_a, name="PC-1")
    installation = install(pc, office)
    recompute_tenant(tenant=in_tenant_a, as_of=AS_OF)
    installation.delete()

    recompute_tenant(tenant=in_tenant_a, as_of=day(90))  # 90 days since it last held: still within
    foundation = Foundation.objects.get()
    assert foundation.last_true == AS_OF and foundation.first_seen == AS_OF
    assert Requirement.objects.get().quantity == 1

    recompute_tenant(tenant=in_tenant_a, as_of=day(91))  # period elapsed: gone, and the requirement too
    assert not Foundation.objects.exists()
    assert not Requirement.objects.exists()


def test_a_membership_that_ends_keeps_the_requirement_within_the_period(in_tenant_a):
    chat = licensed_product(in_tenant_a, title="Chat", assignment="named_user", min_days=30)
    assign(in_tenant_a, kind="group", key="GRP-Chat", product=chat)
    ann = PersonFactory(tenant=in_tenant_a, username="ann")
    GroupMembershipFactory(group__tenant=in_tenant_a, group__name="GRP-Chat", person=ann)
    recompute_tenant(tenant=in_tenant_a, as_of=AS_OF)
    GroupMembership.objects.all().delete()

    recompute_tenant(tenant=in_tenant_a, as_of=day(10))
    assert Requirement.objects.filter(person=ann).exists()
    recompute_tenant(tenant=in_tenant_a, as_of=day(31))
    assert not Requirement.objects.exists()


def test_an_unassigned_configuration_removes_the_foundation_at_once(in_tenant_a):
    chat = licensed_product(in_tenant_a, title="Chat", assignment="named_user", min_days=365)
    assign(in_tenant_a, kind="group", key="GRP-Chat", product=chat)
    ann = PersonFactory(tenant=in_tenant_a, username="ann")
    GroupMembershipFactory(group__tenant=in_tenant_a, group__name="GRP-Chat", person=ann)
    recompute_tenant(tenant=in_tenant_a, as_of=AS_OF)
    TenantProductAssignment.objects.all().delete()

    recompute_tenant(tenant=in_tenant_a, as_of=day(1))

    assert not Requirement.objects.exists()


def test_an_irrelevant_consumer_loses_its_foundation_at_once(in_tenant_a):
    office = licensed_product(in_tenant_a, title="Office", min_days=365)
    pc = DeviceFactory(tenant=in_tenant_a, name="PC-1")
    install(pc, office)
    recompute_tenant(tenant=in_tenant_a, as_of=AS_OF)
    pc.status = "disposed"
    pc.save()

    recompute_tenant(tenant=in_tenant_a, as_of=day(1))

    assert not Requirement.objects.exists()


def test_manual_requirements_are_never_touched(in_tenant_a, cast, django_capture_on_commit_callbacks):
    office = licensed_product(in_tenant_a, title="Office")
    pc = DeviceFactory(tenant=in_tenant_a, name="PC-1")
    ghost = DeviceFactory(tenant=in_tenant_a, name="PC-2")
    install(pc, office)
    # A manual requirement is a position change (re-allocation only): the engine's own requirement
    # of PC-1 comes from a run over the estate.
    with django_capture_on_commit_callbacks(execute=True):
        manual = requirement_manual_save(tenant=in_tenant_a, actor=cast["license_manager"], product=office,
                                         device=ghost, quantity=Decimal("3"), license_model="Office model")
    recompute_tenant(tenant=in_tenant_a, as_of=AS_OF)
    taken_over = Requirement.objects.get(device=pc)
    requirement_manual_save(tenant=in_tenant_a, actor=cast["license_manager"], product=office, device=pc,
                            quantity=Decimal("5"), license_model="Office model", requirement=taken_over)
    Installation.objects.all().delete()

    recompute_tenant(tenant=in_tenant_a, as_of=day(400))

    assert sorted((r.device.name, r.quantity, r.manual) for r in Requirement.objects.all()) == [
        ("PC-1", 5, True), ("PC-2", 3, True)]
    assert Requirement.objects.get(pk=manual.pk).confirmed
    assert AuditEvent.objects.filter(action="requirements.requirement.created").count() == 1


def test_a_confirmation_and_an_unauthorised_marking_are_kept_across_runs(in_tenant_a, cast):
    cad = licensed_product(in_tenant_a, title="CAD", confirmation="manual")
    one, two = (DeviceFactory(tenant=in_tenant_a, name=n) for n in ("PC-1", "PC-2"))
    install(one, cad)
    install(two, cad)
    recompute_tenant(tenant=in_tenant_a, as_of=AS_OF)
    assert set(Requirement.objects.values_list("confirmation", flat=True)) == {"unconfirmed"}

    requirements_confirm(tenant=in_tenant_a, requirement_ids=[Requirement.objects.get(device=one).pk],
                         actor=cast["license_manager"])
    requirements_mark_unauthorised(tenant=in_tenant_a, requirement_ids=[Requirement.objects.get(device=two).pk],
                                   actor=cast["license_manager"])
    recompute_tenant(tenant=in_tenant_a, as_of=day(1))
    recompute_tenant(tenant=in_tenant_a, as_of=day(2))

    assert Requirement.objects.get(device=one).confirmation == "confirmed"
    assert Requirement.objects.get(device=two).confirmation == "unauthorised"
    assert Requirement.objects.get(device=one).confirmed_by == "a-license_manager"
    assert AuditEvent.objects.filter(action__startswith="requirements.requirement.").count() == 2


def build_estate(tenant, n: int, prefix: str = "") -> None:
    """n devices of a mixed estate: desktops with users, laptops (second copy), VMs on hosts, a group."""
    office = licensed_product(tenant, title="Office", assignment="device_second_copy", min_days=90)
    chat = licensed_product(tenant, title="Chat", assignment="named_user", metric="user")
    win = licensed_product(tenant, title="Windows Server", metric="core",
                           quantity="max(max(cores_per_processor, 8) * processors, 16)")
    sql = licensed_product(tenant, title="SQL", assignment="ose", quantity="max(vcpus, 4)", confirmation="manual")
    assign(tenant, kind="group", key="GRP-Chat", product=chat)
    host = DeviceFactory(tenant=tenant, name=f"{prefix}HOST", role="server", power="on", processors=2,
                         cores_per_processor=16)
    for i in range(n):
        user = PersonFactory(tenant=tenant, username=f"{prefix}user{i:03d}", status="inactive" if i % 7 == 6 else "active")
        if i % 5 == 4:
            vm = VmPlacementFactory(tenant=tenant, vm__name=f"{prefix}VM-{i:03d}", vm__vcpus=2, host=host).vm
            install(vm, win)
            install(vm, sql)
            continue
        device = DeviceFactory(tenant=tenant, name=f"{prefix}PC-{i:03d}", primary_user=user,
                               role="laptop" if i % 3 == 0 else "workstation")
        install(device, office)
        GroupMembershipFactory(group__tenant=tenant, group__name="GRP-Chat", person=user)


def test_running_twice_changes_nothing(in_tenant_a):
    build_estate(in_tenant_a, 12)
    first = recompute_tenant(tenant=in_tenant_a, as_of=AS_OF)
    rows = exported(in_tenant_a)
    stamps = list(Requirement.objects.order_by("pk").values_list("pk", "updated_at"))

    second = recompute_tenant(tenant=in_tenant_a, as_of=AS_OF)

    assert first["created"] > 0
    assert (second["created"], second["updated"], second["deleted"]) == (0, 0, 0)
    assert exported(in_tenant_a) == rows
    assert list(Requirement.objects.order_by("pk").values_list("pk", "updated_at")) == stamps


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("stage", ["requirements", "foundations", "links"])
def test_a_run_killed_half_way_then_rerun_converges_to_an_uninterrupted_run(tenant_a, tenant_b, stage):
    for tenant in (tenant_a, tenant_b):
        with scope(tenant=tenant):
            build_estate(tenant, 12, prefix="")
            recompute_tenant(tenant=tenant, as_of=AS_OF)
            # A change that moves foundations, quantities and links on the next run.
            Installation.objects.filter(device__name__in=["PC-000", "PC-001"]).delete()
            GroupMembership.objects.filter(person__username="user002").delete()

    def hook(name: str) -> None:
        if name == stage:
            raise Interrupted(name)

    with scope(tenant=tenant_a):
        with pytest.raises(Interrupted):
            recompute_tenant(tenant=tenant_a, as_of=day(200), on_stage=hook)
        recompute_tenant(tenant=tenant_a, as_of=day(200))
        interrupted_then_rerun = exported(tenant_a)
    with scope(tenant=tenant_b):
        recompute_tenant(tenant=tenant_b, as_of=day(200))
        uninterrupted = exported(tenant_b)

    assert interrupted_then_rerun == uninterrupted


def test_an_incremental_run_gives_the_same_result_as_a_full_run(tenant_a, tenant_b):
    for tenant in (tenant_a, tenant_b):
        with scope(tenant=tenant):
            build_estate(tenant, 15)
            recompute_tenant(tenant=tenant, as_of=AS_OF)
            Installation.objects.filter(device__name="PC-000").delete()
            Device.objects.filter(name="PC-001").update(status="disposed")
    with scope(tenant=tenant_a):
        changed = list(Device.objects.filter(name__in=["PC-000", "PC-001"]).values_list("id", flat=True))
        summary = recompute_tenant(tenant=tenant_a, as_of=day(200), changed={"devices": changed})
        delta = exported(tenant_a)
    with scope(tenant=tenant_b):
        recompute_tenant(tenant=tenant_b, as_of=day(200))
        full = exported(tenant_b)

    assert summary["scope"].startswith("consumers")
    assert delta == full


def _queries(tenant, n: int) -> tuple[int, int, int]:
    with scope(tenant=tenant):
        build_estate(tenant, n, prefix=f"{n}-")
        with CaptureQueriesContext(connection) as ctx:
            requirements_compute(tenant=tenant, as_of=AS_OF)
        return len(ctx.captured_queries), Requirement.objects.count(), Foundation.objects.count()


def test_the_query_count_of_a_recompute_does_not_grow_with_the_estate(db):
    small, small_reqs, small_founds = _queries(TenantFactory(slug="small"), 5)
    big, big_reqs, big_founds = _queries(TenantFactory(slug="big"), 50)

    # The same statements for 5 and 50 devices: the columnar writer sends each table's difference
    # in one statement (COPY into a temporary table, or one executemany on SQLite), whatever its size.
    assert big_reqs > 5 * small_reqs / 2
    assert big == small
    assert small <= 40


def test_the_consolidation_and_second_copy_links_survive_a_rerun(in_tenant_a):
    build_estate(in_tenant_a, 10)
    recompute_tenant(tenant=in_tenant_a, as_of=AS_OF)
    links = sorted(Requirement.consolidated_into.through.objects.values_list("from_requirement_id",
                                                                             "to_requirement_id"))
    recompute_tenant(tenant=in_tenant_a, as_of=AS_OF)

    assert links and sorted(Requirement.consolidated_into.through.objects.values_list(
        "from_requirement_id", "to_requirement_id")) == links
    host = Requirement.objects.get(device__name="HOST", product__title="Windows Server")
    assert host.quantity == 32  # max(max(16, 8) * 2, 16)
    assert host.foundations.filter(kind=FoundationKind.CONSOLIDATION).count() == 2


def test_the_copy_reads_and_writes_give_the_same_rows_as_the_cursor_path(tenant_a, tenant_b, monkeypatch):
    from requirements_engine import frames

    for tenant, copy in ((tenant_a, frames.is_postgres()), (tenant_b, False)):
        # On PostgreSQL tenant A goes through COPY (in and out), tenant B through the cursor and
        # executemany path SQLite always takes.
        monkeypatch.setattr(frames, "is_postgres", lambda copy=copy: copy)
        with scope(tenant=tenant):
            build_estate(tenant, 10)
            recompute_tenant(tenant=tenant, as_of=AS_OF)
            Installation.objects.filter(device__name="PC-001").delete()
            recompute_tenant(tenant=tenant, as_of=day(300))
    with scope(tenant=tenant_a):
        copied = exported(tenant_a)
    with scope(tenant=tenant_b):
        assert exported(tenant_b) == copied
