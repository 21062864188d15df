"""The demo estate: realistic shapes, idempotent, applied in bulk."""
from __future__ import annotations

import datetime as dt

import pytest

from inventory.demo import build, seed
from inventory.models import Device, GroupMembership, Installation, InventorySnapshot, Person, VmPlacement
from inventory.selectors import relevant_device_ids

pytestmark = pytest.mark.django_db


def test_the_demo_estate_has_the_scenarios_the_engine_needs(in_tenant_a, recognition):
    seed(in_tenant_a, devices=120, log=lambda line: None)
    assert Device.objects.count() == 120
    assert Device.objects.filter(role="server", power="off").exists()
    assert Device.objects.filter(status="disposed").exists()
    assert Person.objects.filter(status="inactive").exists()
    desktops = dict(Device.objects.filter(role="workstation").values_list("primary_user_id", "name"))
    assert Device.objects.filter(role="laptop", primary_user_id__in=list(desktops)).exists(), "second-copy case"
    moved = dt.date.today() - dt.timedelta(days=30)
    assert VmPlacement.objects.filter(valid_to=moved).exists() and VmPlacement.objects.filter(valid_from=moved).exists()
    assert GroupMembership.objects.filter(group__name="APP-Microsoft365-E3").exists()
    assert GroupMembership.objects.filter(device__isnull=False).exists()
    names = set(Installation.objects.values_list("fingerprint__name", flat=True))
    assert {"Microsoft Visio LTSC Professional 2021", "Google Chrome", "Contoso Inventory Agent"} <= names
    assert 0 < relevant_device_ids(tenant=in_tenant_a).count() < 120
    assert not any(s.rejected for s in InventorySnapshot.objects.all()), [s.errors for s in InventorySnapshot.objects.all()]


def test_seeding_twice_changes_nothing(in_tenant_a, recognition):
    seed(in_tenant_a, devices=60, log=lambda line: None)
    lines: list[str] = []
    seed(in_tenant_a, devices=60, log=lines.append)
    assert all(", 0 created, 0 updated," in line and "removed" not in line for line in lines), lines


def test_the_rows_are_deterministic_and_scale_with_devices():
    today = dt.date(2026, 6, 15)
    assert build(slug="demo", devices=200, today=today) == build(slug="demo", devices=200, today=today)
    assert len(build(slug="demo", devices=2000, today=today)["devices"]) == 2000
