"""The estate's pages: lists with filters and exports, details, the last import, query budgets."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django_scopes import scope

from sam.importing import import_file
from tests.inventory.factories import (
    CostCenterFactory,
    DeviceFactory,
    GroupMembershipFactory,
    InstallationFactory,
    PersonFactory,
    RemoteUsageFactory,
    ServiceBookingFactory,
    VmPlacementFactory,
)

pytestmark = pytest.mark.django_db

LISTS = ("devices", "persons", "cost-centers", "groups", "memberships", "installations", "fingerprints",
         "placements", "remote-usage", "service-bookings")


def url(tenant, name, **kwargs):
    return reverse(f"inventory:{name}", kwargs={"tenant": tenant.slug, **kwargs})


def body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8")


@pytest.fixture
def estate(tenant_a):
    with scope(tenant=tenant_a):
        ann = PersonFactory(tenant=tenant_a, username="ann", cost_center=CostCenterFactory(tenant=tenant_a, code="C1"))
        pc = DeviceFactory(tenant=tenant_a, name="PC-ANN", primary_user=ann)
        host = DeviceFactory(tenant=tenant_a, name="ESX-1", role="server", power="on", processors=2)
        vm = DeviceFactory(tenant=tenant_a, name="VM-SQL", kind="virtual", role="server", power="on", vcpus=4)
        VmPlacementFactory(vm=vm, host=host, valid_from=dt.date(2026, 1, 1))
        GroupMembershipFactory(group__tenant=tenant_a, group__name="GRP-Visio", person=ann)
        InstallationFactory(device=pc, fingerprint__name="Microsoft Visio Professional 2021")
        RemoteUsageFactory(person=ann, host=host)
        ServiceBookingFactory(person=ann, service="Visio")
        return {"ann": ann, "pc": pc, "host": host, "vm": vm}


@pytest.mark.parametrize("name", LISTS)
def test_every_list_renders_for_an_auditor_and_exports(client, cast, tenant_a, estate, name):
    client.force_login(cast["auditor"])
    response = client.get(url(tenant_a, name))
    assert response.status_code == 200
    assert "Last import" not in body(response)
    export = client.get(url(tenant_a, name) + "?export=tsv")
    assert export.status_code == 200 and len(body(export).splitlines()) >= 2


def test_a_foreign_tenant_cannot_see_the_lists(client, cast, tenant_a, estate):
    client.force_login(cast["b_admin"])
    assert client.get(url(tenant_a, "devices")).status_code == 404


def test_device_filters_and_export_hold_only_the_filtered_rows(client, cast, tenant_a, estate):
    client.force_login(cast["license_manager"])
    response = client.get(url(tenant_a, "devices"), {"role": "server", "role__op": "iexact"})
    page = body(response)
    assert "ESX-1" in page and "VM-SQL" in page and "PC-ANN" not in page
    export = body(client.get(url(tenant_a, "devices"), {"name": "esx", "export": "tsv"}))
    lines = export.splitlines()
    assert lines[0].startswith("Name\t") and [line.split("\t")[0] for line in lines[1:]] == ["ESX-1"]
    export = body(client.get(url(tenant_a, "devices"), {"primary_user__username": "ann", "export": "csv"}))
    assert [line.split(",")[0] for line in export.splitlines()[1:]] == ["PC-ANN"]


def test_installations_filter_by_software_name(client, cast, tenant_a, estate):
    with scope(tenant=tenant_a):
        InstallationFactory(device=estate["host"], fingerprint__name="Microsoft SQL Server 2022 Enterprise")
    client.force_login(cast["admin"])
    export = body(client.get(url(tenant_a, "installations"), {"fingerprint__name": "sql", "export": "tsv"}))
    rows = export.splitlines()[1:]
    assert len(rows) == 1 and rows[0].startswith("ESX-1\t")


def test_a_list_shows_what_the_last_import_of_its_kind_changed(client, cast, tenant_a, estate):
    with scope(tenant=tenant_a):
        import_file(kind="vm_hosts", source=b"vm,host,from,to\nVM-SQL,ESX-1,2026-01-01,\nVM-X,ESX-1,,\n",
                    tenant=tenant_a, filename="vcenter.csv", recompute=False, actor="import_data")
    client.force_login(cast["admin"])
    page = body(client.get(url(tenant_a, "placements")))
    assert "Last import" in page and "vcenter.csv" in page
    assert "2 rows read, 0 created, 0 updated, 1 unchanged, 0 removed" in page
    assert "1 rejected" in page and "device.unknown" in page


def test_device_detail_shows_facts_history_groups_and_software(client, cast, tenant_a, estate):
    client.force_login(cast["auditor"])
    page = body(client.get(url(tenant_a, "device", pk=estate["vm"].pk)))
    assert "VM-SQL" in page and "ESX-1" in page and "still there" in page
    page = body(client.get(url(tenant_a, "device", pk=estate["pc"].pk)))
    assert "Microsoft Visio Professional 2021" in page and "ann" in page
    page = body(client.get(url(tenant_a, "device", pk=estate["host"].pk)))
    assert "VM-SQL" in page, "a host lists its guests"


def test_person_detail_shows_devices_groups_usage_and_bookings(client, cast, tenant_a, estate):
    client.force_login(cast["auditor"])
    page = body(client.get(url(tenant_a, "person", pk=estate["ann"].pk)))
    for text in ("PC-ANN", "GRP-Visio", "winword.exe", "Visio"):
        assert text in page


def test_a_foreign_device_or_person_is_404(client, cast, tenant_a, tenant_b, estate):
    with scope(tenant=tenant_b):
        foreign_device = DeviceFactory(tenant=tenant_b)
        foreign_person = PersonFactory(tenant=tenant_b)
    client.force_login(cast["admin"])
    assert client.get(url(tenant_a, "device", pk=foreign_device.pk)).status_code == 404
    assert client.get(url(tenant_a, "person", pk=foreign_person.pk)).status_code == 404


@pytest.mark.parametrize("name", LISTS)
def test_list_pages_cost_the_same_queries_for_few_and_many_rows(client, cast, tenant_a, estate, name,
                                                                django_assert_max_num_queries):
    client.force_login(cast["admin"])
    client.get(url(tenant_a, name))  # warm caches (content types, sessions)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(url(tenant_a, name)).status_code == 200
    with scope(tenant=tenant_a):
        for _i in range(30):
            person = PersonFactory(tenant=tenant_a)
            device = DeviceFactory(tenant=tenant_a, primary_user=person)
            VmPlacementFactory(vm=device, host=estate["host"])
            GroupMembershipFactory(group__tenant=tenant_a, person=person)
            InstallationFactory(device=device)
            RemoteUsageFactory(person=person, host=estate["host"])
            ServiceBookingFactory(person=person)
    with django_assert_max_num_queries(len(few)):
        assert client.get(url(tenant_a, name)).status_code == 200
