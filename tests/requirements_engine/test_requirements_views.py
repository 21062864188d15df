"""Requirement pages, the export and the recompute button."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django_scopes import scope

from requirements_engine.engine import recompute_tenant
from requirements_engine.models import Requirement
from sam.exporting import export
from tests.requirements_engine.factories import DeviceFactory, VmPlacementFactory, install, licensed_product

AS_OF = dt.date(2026, 6, 15)
pytestmark = pytest.mark.django_db


def url(name: str, tenant, **kwargs) -> str:
    return reverse(name, kwargs={"tenant": tenant.slug, **kwargs})


@pytest.fixture
def estate(tenant_a):
    with scope(tenant=tenant_a):
        office = licensed_product(tenant_a, title="Office", confirmation="manual")
        win = licensed_product(tenant_a, title="Windows Server", quantity="max(max(cores_per_processor, 8) * processors, 16)")
        placement = VmPlacementFactory(tenant=tenant_a, vm__name="VM-1", host__name="HV-1", host__processors=2,
                                       host__cores_per_processor=4)
        install(placement.vm, win)
        for i in range(3):
            install(DeviceFactory(tenant=tenant_a, name=f"PC-{i}"), office)
        install(DeviceFactory(tenant=tenant_a, name="VM-LOST", kind="virtual"), office)
        recompute_tenant(tenant=tenant_a, as_of=AS_OF)
        return {r.device.name + "|" + r.product.title: r for r in Requirement.objects.select_related("device", "product")}


def test_the_list_shows_requirements_with_a_fixed_number_of_queries(client, cast, tenant_a, estate,
                                                                    django_assert_max_num_queries):
    client.force_login(cast["auditor"])
    with django_assert_max_num_queries(20):
        response = client.get(url("requirements:list", tenant_a))
    assert response.status_code == 200
    body = response.content.decode()
    assert "HV-1" in body and "PC-2" in body
    assert "Recompute now" not in body  # auditors change nothing


def test_the_list_filters_and_exports(client, cast, tenant_a, estate):
    client.force_login(cast["admin"])
    response = client.get(url("requirements:list", tenant_a), {"device__name": "PC-1", "export": "tsv"})
    text = b"".join(response.streaming_content).decode()
    lines = text.strip().splitlines()
    assert len(lines) == 2 and "PC-1" in lines[1]


def test_the_detail_shows_quantity_values_foundations_and_consolidation(client, cast, tenant_a, estate):
    client.force_login(cast["auditor"])
    host = estate["HV-1|Windows Server"]
    body = client.get(url("requirements:detail", tenant_a, pk=host.pk)).content.decode()
    assert "max(max(cores_per_processor, 8) * processors, 16)" in body
    assert "cores_per_processor = 4" in body
    assert "virtual machine VM-1" in body and "Consolidated from a virtual machine" in body
    vm = estate["VM-1|Windows Server"]
    body = client.get(url("requirements:detail", tenant_a, pk=vm.pk)).content.decode()
    assert f'href="{url("requirements:detail", tenant_a, pk=host.pk)}"' in body


def test_a_foreign_requirement_is_404(client, cast, tenant_b, estate):
    client.force_login(cast["b_admin"])
    assert client.get(url("requirements:detail", tenant_b, pk=estate["PC-0|Office"].pk)).status_code == 404


def test_the_license_manager_confirms_and_rejects_from_the_queue(client, cast, tenant_a, estate):
    client.force_login(cast["license_manager"])
    office = estate["PC-0|Office"]
    page = client.get(url("requirements:queue", tenant_a)).content.decode()
    assert "PC-0" in page and "Not authorised" in page

    client.post(url("requirements:queue", tenant_a), {"selected": [office.pk], "action": "confirm",
                                                      "product": office.product_id})
    client.post(url("requirements:queue", tenant_a), {"selected": [estate["PC-1|Office"].pk],
                                                      "action": "unauthorised", "note": "not approved"})
    with scope(tenant=tenant_a):
        states = dict(Requirement.objects.filter(product=office.product).values_list("device__name", "confirmation"))
    assert states["PC-0"] == "confirmed" and states["PC-1"] == "unauthorised" and states["PC-2"] == "unconfirmed"


def test_an_auditor_cannot_confirm(client, cast, tenant_a, estate):
    client.force_login(cast["auditor"])
    response = client.post(url("requirements:queue", tenant_a), {"selected": [estate["PC-0|Office"].pk]})
    assert response.status_code == 403


def test_the_data_quality_list_shows_requirements_with_errors(client, cast, tenant_a, estate):
    client.force_login(cast["license_manager"])
    body = client.get(url("requirements:data-quality", tenant_a)).content.decode()
    assert "VM-LOST" in body and "virtual machine has no known host" in body
    assert "PC-0" not in body


def test_a_manual_requirement_is_entered_through_the_form(client, cast, tenant_a, estate):
    client.force_login(cast["license_manager"])
    office = estate["PC-0|Office"].product
    DeviceFactory(tenant=tenant_a, name="PC-NEW")
    response = client.post(url("requirements:create", tenant_a), {
        "product": office.pk, "device": "PC-NEW", "license_model": "Office model", "quantity": "2"})
    assert response.status_code == 302
    with scope(tenant=tenant_a):
        req = Requirement.objects.get(device__name="PC-NEW")
    assert (req.manual, req.quantity, req.confirmed) == (True, 2, True)


def test_the_recompute_button_starts_a_job_and_shows_its_progress(client, cast, tenant_a, estate):
    client.force_login(cast["license_manager"])
    response = client.post(url("requirements:recompute", tenant_a), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="job-' in response.content.decode()
    client.force_login(cast["auditor"])
    assert client.post(url("requirements:recompute", tenant_a)).status_code == 403


def test_the_requirements_export_has_one_row_per_requirement_with_foundations(tenant_a, estate):
    with scope(tenant=tenant_a):
        data = export(what="requirements", tenant=tenant_a, as_of=AS_OF)
        rows = [dict(zip(data.header, r, strict=True)) for r in data.rows]
    assert len(rows) == 6
    vm = next(r for r in rows if r["consumer"] == "VM-1")
    assert vm["quantity"] == "0" and vm["secondary"] == "yes" and vm["consolidated_into"] == "HV-1"
    host = next(r for r in rows if r["consumer"] == "HV-1")
    assert host["quantity"] == "16" and host["foundations"].startswith("Consolidated from a virtual machine")
    assert {"consumer", "consumer_type", "publisher", "product", "version", "edition", "license_model", "quantity",
            "confirmed", "effective", "foundations", "error", "expression", "expression_values"} <= set(data.header)


def test_the_manual_forms_render_for_a_new_and_an_existing_requirement(client, cast, tenant_a, estate):
    client.force_login(cast["license_manager"])
    assert client.get(url("requirements:create", tenant_a)).status_code == 200
    page = client.get(url("requirements:edit", tenant_a, pk=estate["PC-0|Office"].pk)).content.decode()
    assert "turns this automatic requirement into a manual one" in page
    client.force_login(cast["auditor"])
    assert client.get(url("requirements:create", tenant_a)).status_code == 403
