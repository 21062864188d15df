"""Balance pages: access, isolation, export, audit pack, reconciliation checklist, exemptions, changes."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scope

from requirements_engine.balance import balance_compute
from requirements_engine.models import BalanceRow
from requirements_engine.models_balance import Exemption, ReconciliationComment, ReconciliationItem
from sam.models import AuditEvent
from tests.requirements_engine.balance_builders import AS_OF, entitlement
from tests.requirements_engine.test_balance_compute import build_acceptance_estate

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate(cast, tenant_a):
    with scope(tenant=tenant_a):
        products = build_acceptance_estate(tenant_a)
        balance_compute(tenant=tenant_a, as_of=AS_OF)
    return products


def url(name, tenant="tenant-a", **kwargs):
    return reverse(f"requirements:{name}", kwargs={"tenant": tenant, **kwargs})


def login(client, username):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=username))


def read_tsv(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8")), delimiter="\t"))


def test_the_balance_page_shows_the_positions(client, estate):
    login(client, "a-auditor")
    response = client.get(url("balance") + f"?as_of={AS_OF}")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Fabrikam" in body and "Northwind" in body
    assert 'data-col="shortfall">2<' in body


def test_the_balance_page_stays_within_its_query_budget(client, estate, django_assert_max_num_queries):
    login(client, "a-auditor")
    with django_assert_max_num_queries(20):
        assert client.get(url("balance") + f"?as_of={AS_OF}").status_code == 200


def test_the_export_has_the_contract_columns_and_plain_numbers(client, estate):
    login(client, "a-auditor")
    response = client.get(url("balance") + f"?as_of={AS_OF}&export=tsv")
    assert response.status_code == 200
    rows = read_tsv(b"".join(response.streaming_content))
    assert list(rows[0]) == ["publisher", "product", "version", "edition", "license_model", "metric", "required",
                             "purchased", "covered", "shortfall", "surplus", "status", "unconfirmed",
                             "shortfall_cost", "expiring", "as_of"]
    db = next(r for r in rows if r["product"] == "DB")
    assert (db["required"], db["purchased"], db["covered"], db["shortfall"], db["surplus"], db["status"]) == (
        "4", "2", "2", "2", "0", "shortfall")
    assert db["shortfall_cost"] == "9000" and db["as_of"] == "2026-06-15"


def test_the_registered_export_computes_a_missing_day_without_storing_it(tenant_a, cast):
    import requirements_engine.exporters_balance  # noqa: F401
    from requirements_engine.models import Allocation
    from sam.exporting import export

    with scope(tenant=tenant_a):
        build_acceptance_estate(tenant_a)
        assert not BalanceRow.objects.exists()
        data = export(what="balance", tenant=tenant_a, as_of=AS_OF)
        rows = list(data.rows)
        # Four positions computed in memory; a read never stores a snapshot.
        assert len(rows) == 4 and not BalanceRow.objects.exists()
        allocation = list(export(what="allocation", tenant=tenant_a, as_of=AS_OF).rows)
        rules = {(r[2], r[3]): r[6] for r in allocation}
        assert rules[("Draw", "2022")] == "version downgrade"
        assert not Allocation.objects.exists()


def test_the_audit_pack_holds_every_file_with_the_as_of_date(client, estate):
    login(client, "a-auditor")
    response = client.get(url("balance-audit-pack") + f"?as_of={AS_OF}")
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "balance-2026-06-15.tsv" in names and "allocation-2026-06-15.tsv" in names
    assert "entitlements-2026-06-15.tsv" in names and "exemptions-2026-06-15.tsv" in names
    xlsx = client.get(url("balance-audit-pack") + f"?as_of={AS_OF}&format=xlsx")
    from openpyxl import load_workbook

    with zipfile.ZipFile(io.BytesIO(xlsx.content)) as zf:
        sheet = load_workbook(io.BytesIO(zf.read("balance-2026-06-15.xlsx"))).active
        assert [c.value for c in sheet[1]][:2] == ["balance as of", "2026-06-15"]


def test_a_position_explains_its_allocation(client, estate):
    login(client, "a-auditor")
    row = _row("2022")
    response = client.get(url("balance-position", pk=row.pk), follow=True)
    # The old id link redirects to the stable address (product × license model + day).
    assert response.redirect_chain[0][0] == (url("balance-position-of", product=row.product_id, model="Demo Per Device")
                                             + "?as_of=2026-06-15")
    body = response.content.decode()
    assert response.status_code == 200 and "version downgrade" in body
    # Everything is linked: the license, the consumer's device page and the requirement.
    with scope(tenant=row.tenant):
        from requirements_engine.models import Allocation, Requirement

        alloc = Allocation.objects.get(as_of=AS_OF, product_id=row.product_id)
        req = Requirement.objects.get(product_id=row.product_id)
    assert reverse("entitlements:edit", kwargs={"tenant": "tenant-a", "pk": alloc.entitlement_id}) in body
    assert reverse("inventory:device", kwargs={"tenant": "tenant-a", "pk": req.device_id}) in body
    assert reverse("requirements:detail", kwargs={"tenant": "tenant-a", "pk": req.pk}) in body


def _row(version):
    from django_scopes import scopes_disabled

    with scopes_disabled():
        return BalanceRow.objects.get(product__version=version, as_of=AS_OF)


def test_a_foreign_tenants_position_is_404(client, estate):
    login(client, "b-admin")
    row = _row("2022")
    assert client.get(url("balance-position", tenant="tenant-b", pk=row.pk)).status_code == 404


def test_dashboards_render_charts_from_the_vendored_library(client, estate):
    login(client, "a-auditor")
    response = client.get(url("balance-dashboard") + f"?as_of={AS_OF}")
    body = response.content.decode()
    assert response.status_code == 200
    assert "vendor/chart-4.6.1.umd.min.js" in body and "cdn" not in body.lower()
    assert "balance-chart-data" in body
    dash = client.get(reverse("dashboard", kwargs={"tenant": "tenant-a"}))
    assert "Shortfall cost" in dash.content.decode()


def test_the_reconciliation_checklist_is_stored_and_audited(client, estate, tenant_a):
    publisher_id = estate[2].publisher_id
    login(client, "a-license_manager")
    page = client.get(url("reconciliation") + f"?publisher={publisher_id}&scope=server")
    assert page.status_code == 200 and "Fabrikam" in page.content.decode()
    client.post(url("reconciliation"), {"publisher": publisher_id, "scope": "server", "key": "agreements",
                                        "done": "1"})
    client.post(url("reconciliation"), {"publisher": publisher_id, "scope": "server", "key": "agreements",
                                        "action": "comment", "text": "K-2 signed copy in the vault"})
    with scope(tenant=tenant_a):
        item = ReconciliationItem.objects.get(key="agreements")
        assert item.done and item.done_by == "a-license_manager"
        assert ReconciliationComment.objects.get().text == "K-2 signed copy in the vault"
        assert AuditEvent.objects.filter(action="requirements.reconciliation.checked").count() == 1


def test_an_auditor_may_read_but_not_tick(client, estate):
    login(client, "a-auditor")
    publisher_id = estate[2].publisher_id
    assert client.get(url("reconciliation") + f"?publisher={publisher_id}").status_code == 200
    response = client.post(url("reconciliation"), {"publisher": publisher_id, "key": "agreements", "done": "1"})
    assert response.status_code == 403
    assert client.post(url("exemptions"), {"consumer": "SRV-1", "reason": "x"}).status_code == 403


def test_an_exemption_changes_the_balance_and_is_listed_for_auditors(client, estate, tenant_a):
    login(client, "a-license_manager")
    response = client.post(url("exemptions"), {"consumer": "SRV-1", "reason": "test system, developer license",
                                               "expires_on": "2026-12-31"})
    assert response.status_code == 302
    with scope(tenant=tenant_a):
        exemption = Exemption.objects.get()
        assert exemption.device.name == "SRV-1"
        assert AuditEvent.objects.filter(action="requirements.exemption.created").exists()
        balance_compute(tenant=tenant_a, as_of=AS_OF)
        assert BalanceRow.objects.get(as_of=AS_OF, product=estate[2]).required == 0
    client.logout()
    login(client, "a-auditor")
    assert "test system, developer license" in client.get(url("exemptions")).content.decode()
    client.logout()
    login(client, "a-license_manager")
    client.post(url("exemption-revoke", pk=exemption.pk))
    with scope(tenant=tenant_a):
        exemption.refresh_from_db()
        assert exemption.revoked_at is not None


def test_what_changed_between_two_days_names_the_license(client, estate, tenant_a):
    with scope(tenant=tenant_a):
        entitlement(tenant_a, estate[2], 1, units=Decimal(2), model="Demo Core Min4")
        balance_compute(tenant=tenant_a, as_of=AS_OF + dt.timedelta(days=1))
    login(client, "a-auditor")
    response = client.get(url("balance-changes") + f"?from={AS_OF}&to={AS_OF + dt.timedelta(days=1)}")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Fabrikam DB 10 Enterprise" in body and "2 → 4" in body


def test_what_if_on_the_page_uses_the_chosen_repository(client, estate, tenant_a):
    from entitlements.models import Repository

    with scope(tenant=tenant_a):
        plan = Repository.objects.create(tenant=tenant_a, name="Plan")
        entitlement(tenant_a, estate[2], 2, units=Decimal(2), model="Demo Core Min4", repository=plan)
        stored = list(BalanceRow.objects.values_list("id", "covered"))
    login(client, "a-license_manager")
    response = client.get(url("balance") + f"?as_of={AS_OF}&repository={plan.pk}&export=tsv")
    rows = read_tsv(b"".join(response.streaming_content))
    db = next(r for r in rows if r["product"] == "DB")
    assert (db["covered"], db["shortfall"]) == ("4", "0")
    with scope(tenant=tenant_a):
        assert list(BalanceRow.objects.values_list("id", "covered")) == stored
