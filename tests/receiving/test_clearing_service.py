"""The clearing service: one workspace across tenants, the alias library, bulk actions on all matching
lines, assignment, ageing targets, manual entry and the queue's export.

Cast: ``clerk`` clears tenants A and C; tenant B belongs to someone else (``b-admin`` in the shared cast).
"""
from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from openpyxl import load_workbook

from catalog.aliases import sku_alias_save
from catalog.models import SkuAlias, TenantSkuAlias
from entitlements.models import Entitlement
from receiving import selectors, services
from receiving.models import BatchSource, LineStatus, PurchaseLine
from sam.importing import import_file
from sam.models import AuditEvent, Membership, Role
from tests.factories import TenantFactory, UserFactory
from tests.receiving.conftest import line, receive

pytestmark = pytest.mark.django_db

WS = "/receiving/workspace/"


@pytest.fixture
def tenant_c(db):
    return TenantFactory(slug="tenant-c", name="Tenant C")


@pytest.fixture
def clerk(db, tenant_a, tenant_c):
    user = UserFactory(username="clerk")
    Membership.objects.create(user=user, tenant=tenant_a, role=Role.CLEARING)
    Membership.objects.create(user=user, tenant=tenant_c, role=Role.CLEARING)
    return user


def bare(**overrides):
    """A line that needs nothing but the catalog (no contract, cost center or requester)."""
    return line(contract_number="", cost_center="", requester_email="", **overrides)


def lines_of(tenant, **filters):
    with scope(tenant=tenant):
        return list(PurchaseLine.objects.filter(**filters).order_by("id"))


def grant_library(user):
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="change_skualias", content_type__app_label="catalog"))
    return type(user).objects.get(pk=user.pk)  # a fresh instance: permissions are cached per object


# ---------------------------------------------------------------------------------------------
# The alias library


def test_a_library_alias_clears_lines_of_every_tenant_below_the_tenants_own(org, tenant_b, catalog):
    sku_alias_save(tenant=None, actor="staff", alias="RS-DRAW", part_number="CD-24P")
    with scope(tenant=tenant_b):
        sku_alias_save(tenant=tenant_b, actor="b", alias="RS-DRAW", part_number="FDB-2C")  # B's own meaning wins
    receive(org, [line(sku="RS-DRAW")])
    receive(tenant_b, [bare(sku="rs-draw")])
    a_line, = lines_of(org)
    b_line, = lines_of(tenant_b)
    assert a_line.status == LineStatus.TRANSFERRED and a_line.resolved_sku == "CD-24P"
    assert "alias library" in a_line.warnings[0]["message"]
    assert b_line.status == LineStatus.TRANSFERRED and b_line.resolved_sku == "FDB-2C"


def test_a_supplier_alias_applies_only_to_lines_from_that_supplier(org, catalog):
    sku_alias_save(tenant=None, actor="staff", alias="X-100", part_number="CD-24P", supplier="Reseller One")
    receive(org, [line(sku="X-100", supplier="reseller one "), line(sku="X-100", po_line="2", supplier="Other")])
    first, second = lines_of(org)
    assert first.status == LineStatus.TRANSFERRED
    assert second.status == LineStatus.WAITING and second.reason_list == ["sku.unknown"]


def test_the_sku_aliases_kind_writes_the_library_without_tenant_and_the_tenants_with_it(org, catalog):
    receive(org, [line(sku="LIB-1"), line(sku="MINE-1", po_line="2")])
    library = import_file(kind="sku_aliases", source=b"alias,sku,supplier\nLIB-1,CD-24P,\nBAD-1,NOPE,\n",
                          filename="a.csv", actor="staff")
    assert (library.created, library.rejected) == (1, 1)
    assert SkuAlias.objects.filter(alias="LIB-1", part_number="CD-24P").exists()
    with scope(tenant=org):
        mine = import_file(kind="sku_aliases", source=b"reseller part number\tcatalog sku\nMINE-1\tCHAT-12\n",
                           filename="a.tsv", tenant=org, actor="admin")
        assert mine.created == 1 and TenantSkuAlias.objects.filter(alias="MINE-1").exists()
    assert not SkuAlias.objects.filter(alias="MINE-1").exists()
    # The waiting lines were checked again after each import: both cleared.
    assert [x.status for x in lines_of(org)] == [LineStatus.TRANSFERRED, LineStatus.TRANSFERRED]
    again = import_file(kind="sku_aliases", source=b"alias,sku\nLIB-1,CD-24P\n", filename="a.csv", actor="staff")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


def test_only_library_editors_may_map_for_all_customers(org, clerk, catalog):
    receive(org, [line(sku="RS-9")])
    with scope(tenant=org), pytest.raises(PermissionDenied):
        services.sku_alias_map(tenant=org, actor=clerk, alias="RS-9", part_number="CD-24P", scope="library")
    assert not SkuAlias.objects.exists()
    editor = grant_library(clerk)
    with scope(tenant=org):
        result = services.sku_alias_map(tenant=org, actor=editor, alias="RS-9", part_number="CD-24P", scope="library")
        assert result.transferred == 1
        # Audited in the tenant the line came from: the library change and the mapping.
        actions = set(AuditEvent.objects.filter(tenant=org).values_list("action", flat=True))
    assert {"catalog.library_alias.created", "receiving.sku.mapped"} <= actions


def test_receiving_no_longer_writes_the_catalogs_alias_table_itself():
    import inspect

    source = inspect.getsource(services)
    assert "TenantSkuAlias" not in source and "_alias_create" not in source


# ---------------------------------------------------------------------------------------------
# The workspace: one queue, each action in the line's own tenant


def test_the_workspace_shows_the_lines_of_the_tenants_the_clerk_clears_and_no_others(client, org, tenant_b,
                                                                                    tenant_c, clerk):
    receive(org, [line(sku="ZZ-A")])
    receive(tenant_b, [bare(sku="ZZ-B")])
    receive(tenant_c, [bare(sku="ZZ-C")])
    client.force_login(clerk)
    body = client.get(WS).content.decode()
    assert 'data-tenant="tenant-a"' in body and 'data-tenant="tenant-c"' in body
    assert "ZZ-B" not in body and 'data-tenant="tenant-b"' not in body
    only_c = client.get(WS, {"tenant": "tenant-c"}).content.decode()
    assert "ZZ-C" in only_c and "ZZ-A" not in only_c
    assert "ZZ-B" not in client.get(WS, {"tenant": "tenant-b"}).content.decode()


def test_the_workspace_first_page_costs_the_same_queries_for_more_lines(client, org, tenant_c, clerk,
                                                                       django_assert_max_num_queries):
    receive(org, [line(sku=f"ZZ-{i}", po_line=str(i)) for i in range(30)])
    receive(tenant_c, [bare(sku=f"ZZ-{i}", po_line=str(i)) for i in range(30)])
    client.force_login(clerk)
    client.get(WS)
    with django_assert_max_num_queries(12):
        assert client.get(WS).status_code == 200


def test_a_fix_from_the_workspace_is_written_and_audited_in_the_lines_tenant(client, org, tenant_c, clerk):
    receive(org, [line(cost_center="C9")])
    a_line, = lines_of(org)
    client.force_login(clerk)
    response = client.post(f"{WS}lines/{a_line.pk}/fix/", {**a_line.values, "cost_center": "C2"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    a_line, = lines_of(org)
    assert a_line.status == LineStatus.TRANSFERRED and a_line.cleared_by == clerk
    with scope(tenant=org):
        assert Entitlement.objects.filter(purchase_line=a_line).exists()
        assert AuditEvent.objects.filter(action="receiving.line.corrected", actor=clerk, object_id=str(a_line.pk)).exists()
    with scope(tenant=tenant_c):
        assert not AuditEvent.objects.filter(action="receiving.line.corrected").exists()


def test_a_clerk_never_sees_or_changes_a_foreign_tenants_line_through_the_workspace(client, org, tenant_b, clerk,
                                                                                   catalog):
    receive(tenant_b, [bare(sku="ZZ-B")])
    foreign, = lines_of(tenant_b)
    client.force_login(clerk)
    assert client.get(f"{WS}lines/{foreign.pk}/fix/").status_code == 404
    assert client.post(f"{WS}lines/{foreign.pk}/fix/", {"sku": "CD-24P", "quantity": "1"}).status_code == 404
    assert client.post(f"{WS}lines/{foreign.pk}/reject/", {"note": "no"}).status_code == 404
    assert client.post(f"{WS}lines/{foreign.pk}/alias/", {"alias": "ZZ-B", "part_number": "CD-24P"}).status_code == 404
    client.post(f"{WS}bulk/", {"action": "reject", "value": "no", "selected": [foreign.pk]})
    client.post(f"{WS}bulk/", {"action": "cost_center", "value": "C1", "all_matching": "1", "query": "tenant=tenant-b"})
    foreign_now, = lines_of(tenant_b)
    assert foreign_now.status == LineStatus.WAITING and foreign_now.values == foreign.values
    with scope(tenant=tenant_b):
        assert not TenantSkuAlias.objects.exists()
        assert not AuditEvent.objects.filter(actor=clerk).exists()


def test_a_member_who_may_only_read_cannot_change_a_line_through_the_workspace(client, org, cast):
    receive(org, [line(cost_center="C9")])
    a_line, = lines_of(org)
    client.force_login(cast["auditor"])
    assert client.get(WS).status_code == 200
    assert client.post(f"{WS}lines/{a_line.pk}/fix/", {**a_line.values, "cost_center": "C2"}).status_code == 404
    assert client.post(f"{WS}lines/{a_line.pk}/reject/", {"note": "x"}).status_code == 404
    assert lines_of(org)[0].status == LineStatus.WAITING


def test_mapping_for_all_customers_in_the_workspace_clears_every_tenants_lines(client, org, tenant_b, tenant_c, clerk,
                                                                             catalog):
    receive(org, [line(sku="RS-77")])
    receive(tenant_c, [bare(sku="RS-77")])
    receive(tenant_b, [bare(sku="rs-77")])  # a tenant the clerk does not serve
    editor = grant_library(clerk)
    client.force_login(editor)
    a_line, = lines_of(org)
    client.post(f"{WS}lines/{a_line.pk}/alias/", {"alias": "RS-77", "part_number": "CD-24P", "scope": "library"})
    assert [x.status for x in lines_of(org) + lines_of(tenant_c) + lines_of(tenant_b)] == [LineStatus.TRANSFERRED] * 3
    assert SkuAlias.objects.filter(alias="RS-77").count() == 1
    with scope(tenant=tenant_c):
        assert not TenantSkuAlias.objects.exists()


# ---------------------------------------------------------------------------------------------
# Bulk actions on a selection or on all matching lines


def test_bulk_reject_on_all_matching_lines_takes_exactly_the_filtered_ones(client, org, cast):
    receive(org, [line(cost_center="C9"), line(po_line="2", cost_center="C8"), line(po_line="3", sku="ZZ-1")])
    client.force_login(cast["clearing"])
    client.post("/t/tenant-a/receiving/bulk/", {"action": "reject", "value": "wrong cost centers", "all_matching": "1",
                                                "query": "reason=cost_center.unknown"})
    statuses = {x.po_line: x.status for x in lines_of(org)}
    assert statuses == {"1": LineStatus.REJECTED, "2": LineStatus.REJECTED, "3": LineStatus.WAITING}
    with scope(tenant=org):
        assert AuditEvent.objects.filter(action="receiving.line.rejected").count() == 2


def test_bulk_set_contract_and_recheck_on_a_selection(client, org, cast):
    receive(org, [line(contract_number="K-9"), line(po_line="2", contract_number="K-9"), line(po_line="3", sku="ZZ")])
    first, second, third = lines_of(org)
    client.force_login(cast["clearing"])
    client.post("/t/tenant-a/receiving/bulk/", {"action": "contract", "value": "K-1", "selected": [first.pk]})
    assert [x.status for x in lines_of(org)] == [LineStatus.TRANSFERRED, LineStatus.WAITING, LineStatus.WAITING]
    with scope(tenant=org):
        from entitlements.models import Contract

        Contract.objects.create(tenant=org, number="K-9", publisher=first.product.publisher)
    client.post("/t/tenant-a/receiving/bulk/", {"action": "recheck", "all_matching": "1", "query": ""})
    assert [x.status for x in lines_of(org)] == [LineStatus.TRANSFERRED, LineStatus.TRANSFERRED, LineStatus.WAITING]


def test_workspace_bulk_on_all_matching_acts_in_each_tenant(client, org, tenant_b, tenant_c, clerk):
    receive(org, [line(cost_center="", po_line="1"), line(po_line="2", sku="ZZ")])
    receive(tenant_c, [bare(po_line="1"), bare(po_line="2", sku="ZZ")])
    receive(tenant_b, [bare(sku="ZZ")])
    client.force_login(clerk)
    client.post(f"{WS}bulk/", {"action": "reject", "value": "not ours", "all_matching": "1", "query": "sku=zz"})
    assert [x.status for x in lines_of(org)] == [LineStatus.TRANSFERRED, LineStatus.REJECTED]
    assert [x.status for x in lines_of(tenant_c)] == [LineStatus.TRANSFERRED, LineStatus.REJECTED]
    assert [x.status for x in lines_of(tenant_b)] == [LineStatus.WAITING]
    for tenant in (org, tenant_c):
        with scope(tenant=tenant):
            assert AuditEvent.objects.filter(action="receiving.line.rejected", actor=clerk).count() == 1


def test_a_required_cost_center_holds_a_line_without_one(org, cast):
    with scope(tenant=org):
        services.receiving_settings_update(tenant=org, actor=cast["admin"], warnings=[], require_contract=False,
                                           as_draft=False, require_cost_center=True)
    org.refresh_from_db()
    receive(org, [line(cost_center=""), line(po_line="2")])
    first, second = lines_of(org)
    assert first.status == LineStatus.WAITING and first.reason_list == ["cost_center.missing"]
    assert second.status == LineStatus.TRANSFERRED


# ---------------------------------------------------------------------------------------------
# Assignment, service levels, throughput


def test_lines_are_assigned_to_a_clerk_who_sees_them_as_my_lines(client, org, tenant_c, clerk, cast):
    receive(org, [line(sku="ZZ-1"), line(sku="ZZ-2", po_line="2")])
    first, second = lines_of(org)
    client.force_login(clerk)
    client.post(f"{WS}bulk/", {"action": "assign", "assignee": "clerk", "selected": [first.pk]})
    assert [x.assigned_to for x in lines_of(org)] == [clerk, None]
    body = client.get(WS, {"assigned": "me"}).content.decode()
    assert "ZZ-1" in body and "ZZ-2" not in body
    # Nobody outside the tenant's clearing staff can own its lines.
    outsider = UserFactory(username="outsider")
    Membership.objects.create(user=outsider, tenant=tenant_c, role=Role.CLEARING)
    with scope(tenant=org), pytest.raises(ValueError):
        services.lines_assign(tenant=org, actor=clerk, line_ids=[second.pk], assignee=outsider)
    with scope(tenant=org):
        assert services.lines_assign(tenant=org, actor=clerk, line_ids=[second.pk], assignee=cast["admin"]) == 1
        assert AuditEvent.objects.filter(action="receiving.lines.assigned").count() == 2


def test_the_breach_cutoff_counts_working_days_back():
    wednesday = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)
    # 2 working days before Wednesday noon: Tuesday, Monday -> Monday 2 March noon.
    assert selectors.breach_cutoff(days=2, now=wednesday) == dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
    monday = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    # 2 working days before Monday: Friday 27 Feb, Thursday 26 Feb (the weekend does not count).
    assert selectors.breach_cutoff(days=2, now=monday) == dt.datetime(2026, 2, 26, 9, 0, tzinfo=dt.UTC)


def test_lines_past_the_ageing_target_are_listed_as_breaches(client, org, tenant_c, clerk, cast):
    with scope(tenant=org):
        services.receiving_settings_update(tenant=org, actor=cast["admin"], warnings=[], require_contract=False,
                                           as_draft=False, clear_within_days=2)
    receive(org, [line(sku="OLD-1"), line(sku="NEW-1", po_line="2")])
    receive(tenant_c, [bare(sku="OLD-C")])  # no target in tenant C: never a breach
    old, _new = lines_of(org)
    with scopes_disabled():
        # 10 calendar days always hold more than 2 working days.
        PurchaseLine.objects.filter(pk=old.pk).update(received_at=timezone.now() - dt.timedelta(days=10))
        PurchaseLine.objects.filter(tenant=tenant_c).update(received_at=timezone.now() - dt.timedelta(days=10))
    client.force_login(clerk)
    body = client.get(WS, {"breached": "1"}).content.decode()
    assert "OLD-1" in body and "NEW-1" not in body and "OLD-C" not in body
    summary = client.get(f"{WS}summary/").content.decode()
    assert 'data-kpi="breached"><a href="?breached=1">1</a>' in summary
    page = client.get(f"{WS}throughput/").content.decode()
    assert '<tr data-tenant="tenant-a"><td>Tenant A</td><td class="num">2</td><td class="num">1</td>' in page


def test_throughput_counts_what_each_clerk_cleared_per_customer(client, org, tenant_c, clerk, cast):
    receive(org, [line(cost_center="C9"), line(po_line="2", cost_center="C9"), line(po_line="3", sku="ZZ")])
    receive(tenant_c, [bare(sku="ZZ")])
    first, second, third = lines_of(org)
    c_line, = lines_of(tenant_c)
    client.force_login(clerk)
    client.post(f"{WS}bulk/", {"action": "cost_center", "value": "C1", "selected": [first.pk, second.pk]})
    client.post(f"{WS}lines/{c_line.pk}/reject/", {"note": "not a purchase"})
    page = client.get(f"{WS}throughput/").content.decode()
    # clerk: 2 cleared in A, 1 rejected in C -> 2 cleared and 1 rejected in all.
    assert '<tr data-clerk="clerk"><td>clerk</td><td class="num">2</td><td class="num">1</td></tr>' in page
    assert 'data-tenant="tenant-a" data-clerk="clerk"' in page and 'data-tenant="tenant-c" data-clerk="clerk"' in page
    assert 'data-tenant="tenant-b"' not in page


# ---------------------------------------------------------------------------------------------
# Manual entry, export, upload, landing


def test_manual_entry_goes_through_the_same_inspection(client, org, cast):
    client.force_login(cast["clearing"])
    url = "/t/tenant-a/receiving/entry/"
    assert client.get(url).status_code == 200
    clean = {k: v for k, v in line(po_number="PO-M", po_line="1").items() if v}
    client.post(url, clean)
    client.post(url, {**clean, "po_line": "2", "sku": "NOT-IN-CATALOG"})
    client.post(url, clean)  # the same purchase again: nothing new
    first, second = lines_of(org)
    assert first.batch.source == BatchSource.MANUAL and first.status == LineStatus.TRANSFERRED
    assert second.status == LineStatus.WAITING and second.reason_list == ["sku.unknown"]
    assert "NOT-IN-CATALOG" in client.get("/t/tenant-a/receiving/").content.decode()


def test_the_queue_exports_exactly_the_filtered_lines(client, org, tenant_c, clerk, cast):
    receive(org, [line(sku="ZZ-1"), line(po_line="2", cost_center="C9"), line(po_line="3")])
    receive(tenant_c, [bare(sku="ZZ-C")])
    client.force_login(cast["clearing"])
    tsv = client.get("/t/tenant-a/receiving/", {"reason": "sku.unknown", "export": "tsv"})
    rows = b"".join(tsv.streaming_content).decode().splitlines()
    assert rows[0].startswith("tenant\tline\tsku\t") and len(rows) == 2 and "ZZ-1" in rows[1]
    assert "sku.unknown" in rows[1]
    client.force_login(clerk)
    csv_rows = b"".join(client.get(WS, {"export": "csv"}).streaming_content).decode().splitlines()
    # Waiting in A: ZZ-1 and the C9 line; in C: ZZ-C (the clean third line of A transferred).
    assert len(csv_rows) == 4 and {r.split(",")[0] for r in csv_rows[1:]} == {"tenant-a", "tenant-c"}
    xlsx = client.get(WS, {"export": "xlsx", "tenant": "tenant-c"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[2]][:3] == ["tenant-c", lines_of(tenant_c)[0].pk, "ZZ-C"]
    assert sheet.max_row == 2


def test_clearing_staff_may_upload_procurement_files(client, org, cast):
    client.force_login(cast["clearing"])
    assert client.get("/t/tenant-a/receiving/upload/").status_code == 200
    client.force_login(cast["auditor"])
    assert client.get("/t/tenant-a/receiving/upload/").status_code == 403


def test_clearing_staff_land_on_their_workspace_after_log_in(client, org, tenant_c, clerk, cast):
    client.force_login(clerk)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == WS
    client.force_login(cast["admin"])
    assert client.get("/")["Location"] == "/t/tenant-a/"


def test_the_settings_page_saves_the_ageing_target_and_the_cost_center_rule(client, org, cast):
    client.force_login(cast["admin"])
    response = client.post("/t/tenant-a/receiving/settings/", {"require_cost_center": "on", "clear_within_days": "2",
                                                               "default_currency": ""})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.setting("receiving_require_cost_center") is True and org.setting("receiving_clear_within_days") == 2
    assert selectors.clear_within_days(org) == 2
    client.post("/t/tenant-a/receiving/settings/", {"clear_within_days": "", "default_currency": ""})
    org.refresh_from_db()
    assert org.setting("receiving_clear_within_days") is None and org.setting("receiving_require_cost_center") is False
