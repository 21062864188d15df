"""The tenant settings that decide the numbers: relevant asset statuses and proof of purchase."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django_scopes import scope

from sam.importing import import_file
from sam.models import AuditEvent, Job, Tenant

pytestmark = pytest.mark.django_db


def _estate(tenant):
    """Two devices whose CMDB says "Deployed", one "In Store", each with one licensed installation."""
    from tests.requirements_engine.factories import DeviceFactory, install, licensed_product

    product = licensed_product(tenant, title="Draw", publisher="Contoso")
    for name, status in (("PC-1", "Deployed"), ("PC-2", "deployed"), ("PC-3", "In Store")):
        install(DeviceFactory(tenant=tenant, name=name, status=status), product)
    return product


def _requirement_count(tenant) -> int:
    from requirements_engine.models import Requirement

    with scope(tenant=tenant):
        return Requirement.objects.filter(tenant=tenant).count()


def test_setting_a_relevant_status_on_the_page_makes_requirements_appear(client, cast, tenant_a,
                                                                         django_capture_on_commit_callbacks):
    from requirements_engine.services import recompute_now

    with scope(tenant=tenant_a):
        _estate(tenant_a)
        recompute_now(tenant=tenant_a, as_of=dt.date.today())
    assert _requirement_count(tenant_a) == 0  # default statuses: active, in use — none match

    client.force_login(cast["admin"])
    url = reverse("settings", kwargs={"tenant": tenant_a.slug})
    page = client.get(url).content.decode()
    # The statuses found on the devices are offered with their counts ("Deployed" and "deployed" are one).
    assert "Deployed (2)" in page and "In Store (1)" in page
    # The change is recorded in the outbox; the engine drains it after the commit.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"relevant_statuses": ["Deployed"], "other_statuses": ""})
    assert response.status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.relevant_device_statuses == ["Deployed"]
    # PC-1 and PC-2 are deployed: one device requirement each = 2 (PC-3 is in store).
    assert _requirement_count(tenant_a) == 2
    with scope(tenant=tenant_a):
        [event] = AuditEvent.objects.filter(action="sam.settings.changed")
        assert event.before == {"relevant_device_statuses": ["active", "in use"]}
        assert event.after == {"relevant_device_statuses": ["Deployed"]}
        reasons = [r for params in Job.objects.filter(kind="recompute").values_list("params", flat=True)
                   for r in params.get("reasons") or []]
        assert "relevant statuses changed" in reasons


def test_no_status_at_all_is_refused(client, cast, tenant_a):
    client.force_login(cast["admin"])
    url = reverse("settings", kwargs={"tenant": tenant_a.slug})
    response = client.post(url, {"other_statuses": "  \n "})
    assert response.status_code == 200 and "at least one status" in response.content.decode()
    tenant_a.refresh_from_db()
    assert tenant_a.relevant_device_statuses == ["active", "in use"]


def test_the_proof_switch_revalidates_entitlements(client, cast, tenant_a):
    from catalog.models import LicenseModel
    from entitlements.services import entitlement_create
    from tests.requirements_engine.factories import ProductFactory

    LicenseModel.objects.get_or_create(name="Per Device", defaults={"metric": "device"})
    with scope(tenant=tenant_a):
        ent = entitlement_create(tenant=tenant_a, actor=cast["admin"], publish=False,
                                 data={"type": "license", "product": ProductFactory(), "license_model": "Per Device",
                                       "quantity": 1})
        assert "proof.missing" not in ent.errors
    client.force_login(cast["admin"])
    url = reverse("settings", kwargs={"tenant": tenant_a.slug})
    client.post(url, {"other_statuses": "active\nin use", "require_proof": "on"})
    tenant_a.refresh_from_db()
    assert tenant_a.settings["entitlements_require_proof"] is True
    with scope(tenant=tenant_a):
        ent.refresh_from_db()
        assert "proof.missing" in ent.errors
        [event] = AuditEvent.objects.filter(action="sam.settings.changed")
        assert event.after == {"entitlements_require_proof": True}


def test_only_admins_change_settings(client, cast, tenant_a):
    url = reverse("settings", kwargs={"tenant": tenant_a.slug})
    for role in ("license_manager", "clearing", "auditor"):
        client.force_login(cast[role])
        assert client.get(url).status_code == 403
        assert client.post(url, {"other_statuses": "Deployed"}).status_code == 403
    tenant_a.refresh_from_db()
    assert tenant_a.relevant_device_statuses == ["active", "in use"]


def test_the_tenant_settings_file_kind_sets_both(tenant_a, cast, django_capture_on_commit_callbacks):
    data = (b"setting\tvalue\nrelevant_status\tDeployed\nrelevant_status\tIn Use\n"
            b"proof_of_purchase_required\tyes\ncolour\tblue\n")
    with scope(tenant=tenant_a):
        _estate(tenant_a)
        with django_capture_on_commit_callbacks(execute=True):
            result = import_file(kind="tenant_settings", source=data, tenant=tenant_a, filename="s.tsv",
                                 actor="import_data")
    assert (result.updated, result.rejected) == (1, 1)
    assert "setting.unknown" in result.errors[0]
    tenant = Tenant.objects.get(pk=tenant_a.pk)
    assert tenant.relevant_device_statuses == ["Deployed", "In Use"]
    assert tenant.settings["entitlements_require_proof"] is True
    assert _requirement_count(tenant_a) == 2  # the recompute ran: PC-1, PC-2
    # The same file again changes nothing.
    with scope(tenant=tenant_a):
        again = import_file(kind="tenant_settings", source=data, tenant=tenant_a, filename="s.tsv")
    assert (again.updated, again.unchanged) == (0, 1)
