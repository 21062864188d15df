"""Undo of a batch (and what blocks it), the receiving export, the acceptance scenario, the rate."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django_scopes import scope

from entitlements.models import Entitlement
from receiving.models import ImportBatch, LineStatus, PurchaseLine
from receiving.services import UndoBlocked, batch_undo
from sam.models import AuditEvent
from tests.receiving.conftest import line, receive

pytestmark = pytest.mark.django_db
ESTATE = Path(__file__).resolve().parents[3] / "shared" / "acceptance" / "estate-demo"


def test_undo_withdraws_the_batchs_entitlements_and_keeps_its_lines_as_evidence(org):
    result = receive(org, [line(), line(po_line="2", sku="FDB-2C", contract_number="K-2"), line(po_line="3", sku="ZZ")])
    assert result.transferred == 2
    with scope(tenant=org):
        batch = ImportBatch.objects.get()
        assert batch_undo(batch=batch, actor="test") == 2
        assert not Entitlement.objects.exists()
        assert set(PurchaseLine.objects.values_list("status", flat=True)) == {LineStatus.REJECTED}
        batch.refresh_from_db()
        assert batch.undone_at is not None
        assert AuditEvent.objects.filter(action="receiving.batch.undone").exists()
    # The undone file may be imported again.
    again = receive(org, [line()])
    assert again.created == 1 and again.transferred == 1


def test_undo_is_blocked_by_an_entitlement_changed_since_and_names_it(org):
    receive(org, [line(), line(po_line="2")])
    with scope(tenant=org):
        changed = Entitlement.objects.order_by("id").last()
        Entitlement.objects.filter(pk=changed.pk).update(modified_by_user=True)
        batch = ImportBatch.objects.get()
        with pytest.raises(UndoBlocked) as blocked:
            batch_undo(batch=batch, actor="test")
        assert f"#{changed.pk}" in str(blocked.value) and "line 2" in str(blocked.value)
        assert Entitlement.objects.count() == 2  # all or nothing
        assert PurchaseLine.objects.filter(status=LineStatus.TRANSFERRED).count() == 2
        batch.refresh_from_db()
        assert batch.undone_at is None


def test_undo_through_the_page(client, cast, org):
    receive(org, [line()])
    with scope(tenant=org):
        batch = ImportBatch.objects.get()
    client.force_login(cast["clearing"])
    response = client.post(f"/t/tenant-a/receiving/batches/{batch.pk}/undo/", follow=True)
    assert "undone" in response.content.decode()
    with scope(tenant=org):
        assert not Entitlement.objects.exists()


@pytest.mark.skipif(not ESTATE.exists(), reason="the shared acceptance estate is not checked out")
def test_the_acceptance_scenario(tenant_a, tmp_path):
    tenant = tenant_a
    for kind in ("license_models", "catalog", "cost_centers", "persons", "contracts"):
        call_command("import_data", kind, str(ESTATE / f"{kind}.csv"), "--tenant", tenant.slug)
    call_command("import_data", "procurement", str(ESTATE / "procurement.csv"), "--tenant", tenant.slug)
    call_command("import_data", "procurement", str(ESTATE / "procurement.csv"), "--tenant", tenant.slug)  # changes nothing
    out = tmp_path / "receiving.tsv"
    call_command("export_data", "receiving", "--tenant", tenant.slug, "--output", str(out))
    rows = [r.split("\t") for r in out.read_text(encoding="utf-8").splitlines()]
    header, rows = rows[0], rows[1:]
    records = [dict(zip(header, r, strict=False)) for r in rows]
    assert len(records) == 5
    assert [r["status"] for r in records].count("transferred") == 3
    waiting = {(r["po_number"], r["po_line"]): r["reasons"] for r in records if r["status"] == "waiting"}
    assert waiting == {("PO-1", "4"): "sku.unknown", ("PO-1", "5"): "cost_center.unknown"}
    with scope(tenant=tenant):
        totals = sorted((e.sku, e.quantity * e.units) for e in Entitlement.objects.all())
    assert totals == [("CD-24P", 1), ("FDB-10E-2C", 2), ("NWC-5T-U", 2)]


def test_the_collection_rate_by_lines_and_value(org):
    from receiving.selectors import ageing, batch_rates, collection_rate, reason_counts, trend

    receive(org, [line(unit_price="100"), line(po_line="2", sku="ZZ", unit_price="300"),
                  line(po_line="3", cost_center="C9", unit_price="100")])
    with scope(tenant=org):
        rate = collection_rate(tenant=org)
        assert (rate.received, rate.transferred, rate.waiting, rate.rejected) == (3, 1, 2, 0)
        assert rate.by_lines == 33.3 and rate.by_value == 20.0  # 100 of 500
        assert dict(reason_counts(tenant=org)) == {"sku.unknown": 1, "cost_center.unknown": 1}
        assert ageing(tenant=org)[0][1] == 2
        assert batch_rates(tenant=org)[0]["rate"] == 33.3
        assert sum(trend(tenant=org)["received"]) == 3


def test_rejecting_the_first_of_two_po_lines_lets_the_duplicate_pass(org):
    from receiving.services import line_reject

    receive(org, [line(sku="ZZ-1"), line(quantity="2")])  # same PO line twice; the first is faulty
    with scope(tenant=org):
        first, second = PurchaseLine.objects.order_by("id")
        assert second.reason_codes == ",duplicate.po_line,"
        line_reject(line=first, actor="test", note="wrong order")
        second.refresh_from_db()
        assert second.status == LineStatus.TRANSFERRED
