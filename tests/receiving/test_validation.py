"""Every reason code, the transfer's arithmetic, warnings, and idempotent re-imports."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django_scopes import scope

from catalog.models import TenantSkuAlias
from entitlements.models import Entitlement
from receiving.models import LineStatus, PurchaseLine
from receiving.validation import DOWNGRADABLE, REASONS
from tests.receiving.conftest import line, receive

pytestmark = pytest.mark.django_db


def lines_of(tenant):
    with scope(tenant=tenant):
        return list(PurchaseLine.objects.order_by("id"))


def entitlements_of(tenant):
    with scope(tenant=tenant):
        return list(Entitlement.objects.order_by("id"))


def test_a_clean_line_becomes_a_published_license_at_once(org):
    result = receive(org, [line()])
    assert (result.created, result.transferred, result.waiting) == (1, 1, 0)
    (pl,) = lines_of(org)
    (ent,) = entitlements_of(org)
    assert pl.status == LineStatus.TRANSFERRED and pl.transferred_at is not None
    assert ent.purchase_line_id == pl.pk
    assert ent.status == "published" and ent.type == "license"
    assert ent.sku == "CD-24P" and ent.quantity == 1 and ent.units == 1
    assert ent.unit_cost == Decimal("300.00") and ent.currency == "EUR"
    assert (ent.po_number, ent.supplier, ent.cost_center, ent.contract.number) == ("PO-1", "Demo Reseller", "C1", "K-1")


def test_total_units_are_quantity_times_units_per_sku(org):
    receive(org, [line(sku="FDB-2C", quantity="3", contract_number="K-2")])
    (ent,) = entitlements_of(org)
    # 3 two-core packs: quantity 3, 2 units each, 6 cores in total.
    assert (ent.quantity, ent.units, ent.total) == (3, 2, 6)


def test_a_subscription_runs_for_the_skus_term_from_the_order_date(org):
    receive(org, [line(sku="CHAT-12", quantity="2")])
    (ent,) = entitlements_of(org)
    assert ent.term == "subscription"
    assert (ent.start_date, ent.end_date) == (dt.date(2026, 2, 1), dt.date(2027, 1, 31))


def test_the_lines_own_dates_win_over_the_skus_term(org):
    receive(org, [line(sku="CHAT-12", start_date="2026-03-01", end_date="2026-08-31")])
    (ent,) = entitlements_of(org)
    assert (ent.start_date, ent.end_date) == (dt.date(2026, 3, 1), dt.date(2026, 8, 31))


def test_a_maintenance_sku_becomes_a_maintenance_entitlement(org):
    receive(org, [line(sku="CD-MAINT", start_date="2026-01-01", end_date="2026-12-31")])
    (ent,) = entitlements_of(org)
    assert ent.type == "maintenance"


def test_transfer_as_draft_when_the_tenant_says_so(org):
    org.settings = {"receiving_transfer_as_draft": True}
    org.save()
    receive(org, [line()])
    (ent,) = entitlements_of(org)
    assert ent.status == "draft"


CASES = [
    ("syntax.missing", {"quantity": ""}),
    ("syntax.missing", {"currency": ""}),
    ("syntax.number", {"quantity": "two"}),
    ("syntax.number", {"unit_price": "12,34,5x"}),
    ("syntax.date", {"order_date": "31/02/2026"}),
    ("syntax.negative_price", {"unit_price": "-5"}),
    ("syntax.quantity", {"quantity": "0"}),
    ("syntax.quantity", {"quantity": "-2"}),
    ("syntax.currency", {"currency": "EUX"}),
    ("syntax.dates_order", {"start_date": "2026-05-01", "end_date": "2026-04-01"}),
    ("sku.missing", {"sku": ""}),
    ("sku.unknown", {"sku": "ZZ-000"}),
    ("sku.term_missing", {"sku": "CD-MAINT"}),
    ("contract.unknown", {"contract_number": "K-404"}),
    ("contract.publisher_mismatch", {"contract_number": "K-2"}),
    ("contract.outside_term", {"order_date": "2023-06-30"}),
    ("cost_center.unknown", {"cost_center": "C9"}),
    ("email.malformed", {"requester_email": "ann(at)example"}),
    ("email.unknown", {"requester_email": "zoe@example.test"}),
    ("email.inactive", {"requester_email": "ben@example.test"}),
]


@pytest.mark.parametrize(("code", "change"), CASES, ids=[f"{c}-{'-'.join(v.keys())}" for c, v in CASES])
def test_a_faulty_line_waits_with_its_reason_and_creates_no_entitlement(org, code, change):
    result = receive(org, [line(**change)])
    (pl,) = lines_of(org)
    assert pl.status == LineStatus.WAITING
    assert code in [r["code"] for r in pl.reasons]
    assert f",{code}," in pl.reason_codes
    assert all(r["message"] and r["message"] != r["code"] for r in pl.reasons)
    assert result.waiting == 1 and result.transferred == 0
    assert entitlements_of(org) == []
    assert pl.raw == line(**change)  # evidence kept as received


def test_sku_ambiguous_when_the_part_number_matches_two_skus(org, catalog):
    from catalog.models import TenantSku

    with scope(tenant=org):
        for text, product in (("X-DUP", "draw"), ("x-dup", "db")):
            TenantSku.objects.create(tenant=org, part_number=text, product=catalog["products"][product])
    receive(org, [line(sku="X-DUP")])
    (pl,) = lines_of(org)
    assert [r["code"] for r in pl.reasons] == ["sku.ambiguous"]
    assert entitlements_of(org) == []


def test_sku_resolved_through_an_alias_transfers_with_an_informational_note(org):
    with scope(tenant=org):
        TenantSkuAlias.objects.create(tenant=org, alias="RS-DRAW-PRO", part_number="CD-24P")
    receive(org, [line(sku="RS-DRAW-PRO")])
    (pl,) = lines_of(org)
    assert pl.status == LineStatus.TRANSFERRED
    assert [w["code"] for w in pl.warnings] == ["sku.alias"]
    assert entitlements_of(org)[0].sku == "CD-24P"


def test_contract_missing_only_where_the_tenant_requires_a_contract(org):
    receive(org, [line(contract_number="")])
    assert lines_of(org)[0].status == LineStatus.TRANSFERRED
    org.settings = {"receiving_require_contract": True}
    org.save()
    receive(org, [line(contract_number="", po_line="2")])
    assert [r["code"] for r in lines_of(org)[1].reasons] == ["contract.missing"]


def test_duplicate_po_line_waits(org):
    receive(org, [line()])
    receive(org, [line(quantity="2")])  # same PO and line, different content
    first, second = lines_of(org)
    assert first.status == LineStatus.TRANSFERRED
    assert second.status == LineStatus.WAITING and second.reason_codes == ",duplicate.po_line,"
    assert len(entitlements_of(org)) == 1


def test_duplicate_po_line_inside_one_file(org):
    receive(org, [line(), line(quantity="4")])
    first, second = lines_of(org)
    assert first.status == LineStatus.TRANSFERRED
    assert second.reason_codes == ",duplicate.po_line,"


def test_duplicate_invoice_line_waits(org):
    receive(org, [line(po_number="", po_line="", invoice_number="INV-7")])
    receive(org, [line(po_number="", po_line="", invoice_number="INV-7", description="again, other text")])
    first, second = lines_of(org)
    assert first.status == LineStatus.TRANSFERRED
    assert second.reason_codes == ",duplicate.invoice_line,"


def test_several_reasons_on_one_line(org):
    receive(org, [line(sku="ZZ-1", cost_center="C9", requester_email="nobody@example.test", currency="XXX1")])
    codes = {r["code"] for r in lines_of(org)[0].reasons}
    assert codes == {"sku.unknown", "cost_center.unknown", "email.unknown", "syntax.currency"}


def test_every_reason_code_has_a_label_and_explanation():
    for code, (group, label, text) in REASONS.items():
        assert code.startswith(group.split("organisation")[0][:3]) or group == "organisation"
        assert str(label) and str(text)
    assert set(DOWNGRADABLE) <= set(REASONS)


def test_a_check_turned_into_a_warning_lets_the_line_transfer(org):
    org.settings = {"receiving_warnings": ["cost_center.unknown", "sku.unknown"]}  # sku.unknown cannot be a warning
    org.save()
    receive(org, [line(cost_center="C9"), line(sku="ZZ-9", po_line="2")])
    first, second = lines_of(org)
    assert first.status == LineStatus.TRANSFERRED
    assert [w["code"] for w in first.warnings] == ["cost_center.unknown"]
    assert second.status == LineStatus.WAITING
    assert entitlements_of(org)[0].cost_center == "C9"


def test_reimporting_the_same_lines_changes_nothing(org):
    lines = [line(), line(po_line="2", sku="ZZ-000"), line(po_line="3", cost_center="C9")]
    first = receive(org, lines)
    assert (first.created, first.transferred, first.waiting) == (3, 1, 2)
    again = receive(org, lines)
    assert (again.created, again.skipped, again.transferred, again.batch) == (0, 3, 0, None)
    assert len(lines_of(org)) == 3 and len(entitlements_of(org)) == 1


def test_identical_lines_in_one_file_are_both_kept_and_a_reimport_still_changes_nothing(org):
    twin = line(po_number="", po_line="")
    first = receive(org, [twin, twin])
    assert first.created == 2
    assert receive(org, [twin, twin]).created == 0
    assert len(lines_of(org)) == 2


def test_dates_and_decimals_follow_the_batch_options(org):
    from receiving.validation import Options

    receive(org, [line(order_date="01.02.2026", unit_price="1.234,50")],
            options=Options(date_format="%d.%m.%Y", decimal_separator=","))
    (ent,) = entitlements_of(org)
    assert ent.unit_cost == Decimal("1234.50") and ent.start_date == dt.date(2026, 2, 1)


def test_default_currency_fills_a_line_without_one(org):
    from receiving.validation import Options

    receive(org, [line(currency="")], options=Options(default_currency="CHF"))
    assert entitlements_of(org)[0].currency == "CHF"


def _queries_for(tenant, lines, **kwargs) -> int:
    """Queries of one receive, without the INSERT batches (SQLite splits a bulk insert every ~999 values)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        receive(tenant, lines, **kwargs)
    return len([q for q in ctx.captured_queries if not q["sql"].startswith("INSERT")])


def _mixed(prefix: str, n: int) -> list[dict]:
    kinds = [{}, {"sku": "ZZ-1"}, {"cost_center": "C9"}, {"requester_email": "zoe@example.test"},
             {"sku": "FDB-2C", "contract_number": "K-2"}, {"sku": "CHAT-12"}]
    return [line(po_number=prefix, po_line=str(i), **kinds[i % len(kinds)]) for i in range(n)]


def test_staging_and_validation_need_the_same_queries_for_10_or_300_lines(org):
    small = _queries_for(org, _mixed("PO-S", 12))
    large = _queries_for(org, _mixed("PO-L", 300))
    assert large == small, (small, large)


def test_queries_grow_with_chunks_not_lines(org):
    one_chunk = _queries_for(org, _mixed("PO-A", 100), chunk_size=100)
    four_chunks = _queries_for(org, _mixed("PO-B", 400), chunk_size=100)
    per_chunk = (four_chunks - one_chunk) / 3
    assert per_chunk <= 30 and four_chunks < 150  # about 24: lookups, claim, transfer, savepoints


def test_revalidation_needs_a_bounded_number_of_queries(org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from receiving.services import receiving_revalidate

    receive(org, [line(po_line=str(i), sku="ZZ-1") for i in range(250)])
    with scope(tenant=org), CaptureQueriesContext(connection) as ctx:
        result = receiving_revalidate(tenant=org)
    assert result.read == 250
    assert len([q for q in ctx.captured_queries if not q["sql"].startswith(("INSERT", "UPDATE"))]) <= 15
