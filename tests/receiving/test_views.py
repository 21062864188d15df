"""The clearing queue and its fixes, the upload with mapping, settings, tokens, pages per role."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope

from catalog.models import TenantSkuAlias
from entitlements.models import Entitlement
from receiving.models import ApiToken, ImportBatch, ImportProfile, LineStatus, PurchaseLine
from sam.models import AuditEvent
from tests.receiving.conftest import HEADER, csv_text, line, receive

pytestmark = pytest.mark.django_db


def url(name, tenant="tenant-a", **kwargs):
    return reverse(name, kwargs={"tenant": tenant, **kwargs})


@pytest.fixture
def clerk(client, cast):
    client.force_login(cast["clearing"])
    return client


@pytest.fixture
def admin(client, cast):
    client.force_login(cast["admin"])
    return client


def waiting(tenant):
    with scope(tenant=tenant):
        return list(PurchaseLine.objects.filter(status=LineStatus.WAITING).order_by("id"))


def test_the_queue_shows_waiting_lines_with_their_reasons(clerk, org):
    receive(org, [line(), line(po_line="2", sku="ZZ-000"), line(po_line="3", cost_center="C9")])
    response = clerk.get(url("receiving:queue"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "sku.unknown" in body and "cost_center.unknown" in body and "ZZ-000" in body
    assert "is not in the catalog" in body
    assert url("receiving:queue-summary") in body  # counters load after the list
    summary = clerk.get(url("receiving:queue-summary")).content.decode()
    assert 'id="sku-groups"' in summary and "ZZ-000" in summary  # the unknown part number is offered for mapping
    assert 'data-reason="sku.unknown"' in summary and 'data-reason="cost_center.unknown"' in summary
    assert 'data-kpi="waiting">2<' in summary


def test_queue_filters_by_reason_batch_supplier_publisher_and_age(clerk, org):
    receive(org, [line(sku="ZZ-1", supplier="Alpha"), line(po_line="2", cost_center="C9", supplier="Beta")])
    body = clerk.get(url("receiving:queue") + "?reason=cost_center.unknown").content.decode()
    assert 'id="line-' in body and "ZZ-1" not in body.split('id="queue"')[1]
    body = clerk.get(url("receiving:queue") + "?supplier=alp").content.decode().split('id="queue"')[1]
    assert "ZZ-1" in body and "C9" not in body
    body = clerk.get(url("receiving:queue") + "?age=30").content.decode()
    assert "No lines match." in body
    with scope(tenant=org):
        batch_id = ImportBatch.objects.get().pk
    assert "2 lines" in clerk.get(url("receiving:queue") + f"?batch={batch_id}&publisher=contoso").content.decode()
    partial = clerk.get(url("receiving:queue") + "?reason=sku.unknown", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-table")
    assert partial.content.decode().startswith('<div id="queue-table">')


def test_the_queue_needs_a_bounded_number_of_queries(clerk, org, django_assert_max_num_queries):
    receive(org, [line(po_line=str(i), sku=f"ZZ-{i % 7}", cost_center="C9") for i in range(120)])
    clerk.get(url("receiving:queue"))
    with django_assert_max_num_queries(15):
        assert clerk.get(url("receiving:queue")).status_code == 200
    with django_assert_max_num_queries(12):
        assert clerk.get(url("receiving:queue-summary")).status_code == 200


def test_fix_a_line_inline_transfers_it_and_audits_before_and_after(clerk, org):
    receive(org, [line(cost_center="C9")])
    (pl,) = waiting(org)
    form = clerk.get(url("receiving:line-fix", pk=pl.pk), HTTP_HX_REQUEST="true")
    assert 'name="cost_center"' in form.content.decode()
    response = clerk.post(url("receiving:line-fix", pk=pl.pk), {**pl.values, "cost_center": "C1"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'data-status="transferred"' in body
    assert 'hx-swap-oob="true"' in body  # the counters refresh out of band
    with scope(tenant=org):
        pl.refresh_from_db()
        assert pl.status == LineStatus.TRANSFERRED
        assert pl.raw["cost_center"] == "C9" and pl.values["cost_center"] == "C1"
        event = AuditEvent.objects.get(action="receiving.line.corrected")
        assert (event.before, event.after, event.actor.username) == ({"cost_center": "C9"}, {"cost_center": "C1"}, "a-clearing")
        assert Entitlement.objects.get().purchase_line_id == pl.pk


def test_a_fix_that_is_still_wrong_keeps_the_line_waiting(clerk, org):
    receive(org, [line(cost_center="C9")])
    (pl,) = waiting(org)
    body = clerk.post(url("receiving:line-fix", pk=pl.pk), {**pl.values, "cost_center": "C8"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="waiting"' in body and "C8" in body
    assert len(waiting(org)) == 1


def test_map_an_unknown_part_number_clears_every_line_carrying_it(clerk, org):
    receive(org, [line(po_line=str(i), sku="RS-DRAW") for i in range(1, 26)] + [line(po_line="99", sku="OTHER")])
    with scope(tenant=org):
        from receiving.selectors import collection_rate

        before = collection_rate(tenant=org)
    assert before.transferred == 0 and before.waiting == 26
    response = clerk.post(url("receiving:alias-map"), {"alias": "RS-DRAW", "part_number": "CD-24P"})
    assert response.status_code == 302
    with scope(tenant=org):
        after = collection_rate(tenant=org)
        assert TenantSkuAlias.objects.get().part_number == "CD-24P"
        assert Entitlement.objects.count() == 25
        assert AuditEvent.objects.filter(action="receiving.sku.mapped").exists()
    assert (after.transferred, after.waiting) == (25, 1)
    assert after.by_lines > before.by_lines == 0


def test_mapping_to_a_part_number_outside_the_catalog_is_refused(clerk, org):
    receive(org, [line(sku="RS-DRAW")])
    clerk.post(url("receiving:alias-map"), {"alias": "RS-DRAW", "part_number": "NOPE"})
    with scope(tenant=org):
        assert not TenantSkuAlias.objects.exists()
    assert len(waiting(org)) == 1


def test_set_cost_center_for_selected_lines(clerk, org):
    receive(org, [line(po_line=str(i), cost_center="C9") for i in range(1, 4)])
    ids = [pl.pk for pl in waiting(org)][:2]
    clerk.post(url("receiving:bulk-cost-center"), {"cost_center": "C2", "selected": ids})
    left = waiting(org)
    assert len(left) == 1 and left[0].pk not in ids
    with scope(tenant=org):
        assert AuditEvent.objects.filter(action="receiving.line.corrected").count() == 2


def test_reject_a_line_with_a_reason(clerk, org):
    receive(org, [line(sku="ZZ-1")])
    (pl,) = waiting(org)
    clerk.post(url("receiving:line-reject", pk=pl.pk), {"note": "Not software"})
    with scope(tenant=org):
        pl.refresh_from_db()
        assert pl.status == LineStatus.REJECTED and pl.rejection_note == "Not software"
        assert AuditEvent.objects.filter(action="receiving.line.rejected").exists()
        assert not Entitlement.objects.exists()


def test_revalidate_after_a_cost_center_appears(clerk, org):
    from inventory.models import CostCenter

    receive(org, [line(cost_center="C9")])
    with scope(tenant=org):
        CostCenter.objects.create(tenant=org, code="C9")
    clerk.post(url("receiving:revalidate"))
    assert waiting(org) == []


def test_an_auditor_sees_the_queue_but_cannot_change_it(client, cast, org):
    receive(org, [line(sku="ZZ-1")])
    client.force_login(cast["auditor"])
    assert client.get(url("receiving:queue")).status_code == 200
    (pl,) = waiting(org)
    assert client.post(url("receiving:line-reject", pk=pl.pk), {"note": "x"}).status_code == 403
    assert client.post(url("receiving:alias-map"), {"alias": "ZZ-1", "part_number": "CD-24P"}).status_code == 403
    assert client.get(url("receiving:upload")).status_code == 403


def test_a_foreign_tenants_line_is_a_404(client, cast, org, tenant_b):
    receive(org, [line(sku="ZZ-1")])
    (pl,) = waiting(org)
    client.force_login(cast["b_admin"])
    assert client.get(url("receiving:line-fix", tenant="tenant-b", pk=pl.pk)).status_code == 404
    assert client.post(url("receiving:line-reject", tenant="tenant-b", pk=pl.pk), {"note": "x"}).status_code == 404


def test_every_receiving_page_renders(admin, org):
    receive(org, [line(), line(po_line="2", sku="ZZ-1")])
    for name in ("receiving:queue", "receiving:queue-summary", "receiving:batches", "receiving:rate", "receiving:settings", "receiving:tokens",
                 "receiving:upload"):
        response = admin.get(url(name))
        assert response.status_code == 200, name
    assert "chart-4.6.1.umd.min.js" in admin.get(url("receiving:rate")).content.decode()
    assert "CD-24P" in admin.get(url("receiving:sku-suggest") + "?q=CD-").content.decode()


def test_upload_map_preview_and_import_with_a_saved_profile(admin, org):
    header = ("Artikel", "Menge", "Preis", "Bestelldatum", "Kostenstelle", "Hersteller")
    rows = [header, ("CD-24P", "2", "1.200,50", "03.02.2026", "C1", "Contoso"),
            ("ZZ-000", "1", "10,00", "03.02.2026", "C1", "Contoso")]
    data = "\n".join(";".join(r) for r in rows).encode("utf-8")
    response = admin.post(url("receiving:upload"), {"file": SimpleUploadedFile("erp.csv", data)})
    assert response.status_code == 302
    page = admin.get(url("receiving:upload-map")).content.decode()
    assert "Artikel" in page and "Map a column to: sku, quantity" in page
    mapping = {"col-0": "sku", "col-1": "quantity", "col-2": "unit_price", "col-3": "order_date",
               "col-4": "cost_center", "col-5": "publisher"}
    options = {"date_format": "%d.%m.%Y", "decimal_separator": ",", "default_currency": "EUR"}
    preview = admin.post(url("receiving:upload-map"), {**mapping, **options}, HTTP_HX_REQUEST="true").content.decode()
    assert "1.200,50" in preview and "Map a column" not in preview
    with scope(tenant=org):
        assert not ImportBatch.objects.exists()  # nothing is written before the import
    response = admin.post(url("receiving:upload-map"), {**mapping, **options, "profile_name": "ERP", "action": "import"})
    assert response.status_code == 302
    job_page = admin.get(response["Location"]).content.decode()
    assert "1 transferred" in job_page and "1 waiting" in job_page
    with scope(tenant=org):
        batch = ImportBatch.objects.get()
        assert batch.file and batch.file.read() == data
        ent = Entitlement.objects.get()
        assert str(ent.unit_cost) == "1200.50" and ent.quantity == 2
        profile = ImportProfile.objects.get(name="ERP")
        assert profile.mapping["Artikel"] == "sku" and profile.decimal_separator == ","


def test_import_data_uses_a_saved_profile(org, tmp_path):
    from django.core.management import call_command

    with scope(tenant=org):
        ImportProfile.objects.create(tenant=org, name="ERP", mapping={"Artikel": "sku", "Menge": "quantity",
                                                                      "Preis": "unit_price", "Datum": "order_date"},
                                     date_format="%d.%m.%Y", decimal_separator=",", default_currency="EUR")
    path = tmp_path / "erp.csv"
    path.write_text("Artikel;Menge;Preis;Datum\nCD-24P;3;99,50;01.03.2026\n", encoding="utf-8")
    call_command("import_data", "procurement", str(path), "--tenant", "tenant-a", "--profile", "ERP")
    with scope(tenant=org):
        ent = Entitlement.objects.get()
        assert (ent.quantity, str(ent.unit_cost), ent.currency) == (3, "99.50", "EUR")


def test_an_unknown_profile_is_a_clear_error(org, tmp_path):
    from sam.importing import ImportFileError, import_file

    path = tmp_path / "p.csv"
    path.write_text(csv_text([line()]), encoding="utf-8")
    with scope(tenant=org), pytest.raises(ImportFileError, match="No import profile named"):
        import_file(kind="procurement", source=str(path), tenant=org, profile="NOPE")


def test_settings_turn_checks_into_warnings(admin, org):
    receive(org, [line(cost_center="C9")])
    admin.post(url("receiving:settings"), {"warnings": ["cost_center.unknown"], "default_currency": ""})
    org.refresh_from_db()
    assert org.settings["receiving_warnings"] == ["cost_center.unknown"]
    assert waiting(org) == []  # saving the settings checks the waiting lines again


def test_admin_creates_and_revokes_api_tokens(admin, org):
    body = admin.post(url("receiving:tokens"), {"name": "ERP"}).content.decode()
    with scope(tenant=org):
        token = ApiToken.objects.get()
    assert 'id="new-token"' in body and token.prefix in body
    assert token.digest not in body and len(token.digest) == 64
    admin.post(url("receiving:token-revoke", pk=token.pk))
    with scope(tenant=org):
        token.refresh_from_db()
        assert token.revoked_at is not None


def test_the_clearing_role_cannot_manage_tokens_or_settings(clerk, org):
    assert clerk.get(url("receiving:tokens")).status_code == 403
    assert clerk.get(url("receiving:settings")).status_code == 403


def test_header_constant_is_canonical():
    from receiving.validation import CANONICAL

    assert set(HEADER) <= set(CANONICAL)


def test_the_queue_counts_at_most_its_cap(clerk, org, monkeypatch):
    import receiving.views

    monkeypatch.setattr(receiving.views, "COUNT_CAP", 5)
    receive(org, [line(po_line=str(i), sku="ZZ-1") for i in range(8)])
    body = clerk.get(url("receiving:queue")).content.decode()
    assert "More than 5 lines" in body
