"""The acceptance estate (/work/shared/acceptance/estate-demo): requirements computed by hand.

As of 2026-06-15:
* Contoso Draw 2022 Pro, "Demo Per Device" (device, quantity 1): installed on PC-1 (active) → 1.
  PC-2 is disposed, so its Draw 2024 installation founds nothing.
* Fabrikam DB 10 Enterprise, "Demo Core Min4" (OSE, max(cores_per_processor, 4) * processors):
  SRV-1 has 1 processor × 2 cores → max(2, 4) * 1 = 4. SRV-2 is powered off → nothing.
* Northwind Chat 5 Team, "Demo Named User": group GRP-Chat has ann (active) and ben (inactive) → ann.
* "Contoso Updater" is classified irrelevant → nothing.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django_scopes import scope

from catalog.models import Classification
from requirements_engine.engine import recompute_tenant
from requirements_engine.models import Requirement
from requirements_engine.selectors_requirements import EXPORT_HEADER, requirement_export_rows
from tests.requirements_engine.factories import (
    DeviceFactory,
    FingerprintFactory,
    GroupMembershipFactory,
    InstallationFactory,
    PersonFactory,
    assign,
    licensed_product,
)

AS_OF = dt.date(2026, 6, 15)
ACCEPTANCE = Path("/work/shared/acceptance/estate-demo")
pytestmark = pytest.mark.django_db

EXPECTED = {
    ("PC-1", "Contoso", "Draw", "2022", "Pro"): "1",
    ("SRV-1", "Fabrikam", "DB", "10", "Enterprise"): "4",
    ("ann", "Northwind", "Chat", "5", "Team"): "1",
}


def rows_by_key(tenant) -> dict[tuple, dict]:
    out = {}
    for row in requirement_export_rows(tenant=tenant):
        record = dict(zip(EXPORT_HEADER, row, strict=True))
        out[(record["consumer"], record["publisher"], record["product"], record["version"], record["edition"])] = record
    return out


def test_the_acceptance_estate_built_with_the_orm_gives_the_hand_computed_requirements(in_tenant_a):
    t = in_tenant_a
    draw24 = licensed_product(t, publisher="Contoso", title="Draw", version="2024", edition="Pro",
                              model="Demo Per Device", min_days=90)
    draw22 = licensed_product(t, publisher="Contoso", title="Draw", version="2022", edition="Pro",
                              model="Demo Per Device", min_days=90)
    fdb = licensed_product(t, publisher="Fabrikam", title="DB", version="10", edition="Enterprise",
                           model="Demo Core Min4", assignment="ose", metric="core",
                           quantity="max(cores_per_processor, 4) * processors")
    chat = licensed_product(t, publisher="Northwind", title="Chat", version="5", edition="Team",
                            model="Demo Named User", assignment="named_user", metric="user")
    assign(t, kind="group", key="GRP-Chat", product=chat)
    ann = PersonFactory(tenant=t, username="ann")
    ben = PersonFactory(tenant=t, username="ben", status="inactive")
    pc1 = DeviceFactory(tenant=t, name="PC-1", processors=1, cores_per_processor=4, threads=8, primary_user=ann,
                        processor_model="Demo CPU i5", ram_gb=16)
    pc2 = DeviceFactory(tenant=t, name="PC-2", status="disposed", processors=1, cores_per_processor=4)
    srv1 = DeviceFactory(tenant=t, name="SRV-1", role="server", power="on", processors=1, cores_per_processor=2,
                         threads=4, processor_model="Demo CPU X")
    srv2 = DeviceFactory(tenant=t, name="SRV-2", role="server", power="off", processors=2, cores_per_processor=8,
                         threads=32, processor_model="Demo CPU X")

    def fp(name, product=None, classification=Classification.PRODUCT):
        return FingerprintFactory(tenant=t, publisher="Contoso Ltd" if "Contoso" in name else "Fabrikam Inc",
                                  name=name, version="1", product=product, classification=classification)

    InstallationFactory(device=pc1, fingerprint=fp("Contoso Draw 2022 Pro", draw22))
    InstallationFactory(device=pc1, fingerprint=fp("Contoso Updater", None, Classification.IRRELEVANT))
    InstallationFactory(device=pc2, fingerprint=fp("Contoso Draw 2024 Pro", draw24))
    fdb_fp = fp("Fabrikam DB 10 Enterprise", fdb)
    InstallationFactory(device=srv1, fingerprint=fdb_fp)
    InstallationFactory(device=srv2, fingerprint=fdb_fp)
    for person in (ann, ben):
        GroupMembershipFactory(group__tenant=t, group__name="GRP-Chat", person=person)

    recompute_tenant(tenant=t, as_of=AS_OF)

    rows = rows_by_key(t)
    assert {k: r["quantity"] for k, r in rows.items()} == EXPECTED
    assert all(r["confirmed"] == "yes" and r["effective"] == "yes" and r["error"] == "" for r in rows.values())
    srv = rows[("SRV-1", "Fabrikam", "DB", "10", "Enterprise")]
    assert srv["expression_values"] == "cores_per_processor=2, processors=1"
    assert rows[("ann", "Northwind", "Chat", "5", "Team")]["foundations"] == "Group membership: group GRP-Chat"
    assert Requirement.objects.get(device=srv1).quantity == Decimal(4)


def test_the_acceptance_files_imported_as_tenant_amendments_give_the_same_requirements(tenant_a):
    from sam.importing import import_file

    order = ["license_models", "catalog", "editions", "processors", "fingerprints", "group_assignments",
             "cost_centers", "persons", "devices", "vm_hosts", "installations", "group_memberships"]
    with scope(tenant=tenant_a):
        for kind in order:
            result = import_file(kind=kind, source=ACCEPTANCE / f"{kind}.csv", tenant=tenant_a, as_of=AS_OF,
                                 actor="test", recompute=False)
            assert not getattr(result, "rejected", None), (kind, result.summary())
        recompute_tenant(tenant=tenant_a, as_of=AS_OF)
        rows = rows_by_key(tenant_a)

    assert {k: r["quantity"] for k, r in rows.items()} == EXPECTED
