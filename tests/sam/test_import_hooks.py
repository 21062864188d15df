"""Imports of data that receiving validation reads clear lines waiting in the queue."""
from __future__ import annotations

from pathlib import Path

import pytest
from django_scopes import scope

from receiving.models import LineStatus, PurchaseLine
from sam.importing import import_file

ESTATE = Path(__file__).resolve().parents[2].parent / "shared" / "acceptance" / "estate-demo"
pytestmark = pytest.mark.django_db


def _procurement_with_unknown_cost_center(tmp_path: Path) -> Path:
    path = tmp_path / "procurement.csv"
    path.write_text(
        "Part Number,Qty,Unit Price,Currency,PO Number,PO Line,Order Date,Cost Center,Requester\n"
        "CD-24P,1,300.00,EUR,PO-7,1,2026-02-01,C9,ann@demo.test\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.skipif(not ESTATE.exists(), reason="the shared acceptance estate is not beside the checkout")
def test_a_cost_center_import_clears_the_line_that_waited_for_it(tenant_a, tmp_path):
    with scope(tenant=tenant_a):
        for kind in ("license_models", "catalog", "cost_centers", "persons"):
            import_file(kind=kind, source=ESTATE / f"{kind}.csv", tenant=tenant_a, recompute=False)
        import_file(kind="procurement", source=_procurement_with_unknown_cost_center(tmp_path), tenant=tenant_a,
                    recompute=False)
        line = PurchaseLine.objects.get(po_number="PO-7")
        assert line.status == LineStatus.WAITING
        assert "cost_center.unknown" in str(line.reasons)

        extra = tmp_path / "cost_centers.csv"
        extra.write_text("code,name\nC9,Research\n", encoding="utf-8")
        import_file(kind="cost_centers", source=extra, tenant=tenant_a, recompute=False)

        line.refresh_from_db()
        assert line.status == LineStatus.TRANSFERRED
        assert line.entitlements.count() == 1
