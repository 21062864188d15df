"""The pages: list, editor, bulk actions, export, roles. Driven through the test client."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from entitlements import services
from entitlements.models import Contract, Entitlement, Repository, State, Status
from sam.models import AuditEvent
from tests.entitlements.factories import ContractFactory, ProductFactory, SkuFactory

pytestmark = pytest.mark.django_db


def url(name, tenant, **kwargs):
    return reverse(f"entitlements:{name}", kwargs={"tenant": tenant.slug, **kwargs})


def make(tenant, actor, publish=False, **data):
    with scope(tenant=tenant):
        base = {"product": data.pop("product", None) or ProductFactory(), "quantity": 10, "unit_cost": Decimal(2)}
        base.update(data)
        return services.entitlement_create(tenant=tenant, actor=actor, data=base, publish=publish)


def editor_post(**overrides):
    data = {"vendor": "", "title": "", "version_type": "all", "metric": "device", "quantity": "5", "units": "1",
            "term": "perpetual", "start_date": "2026-01-01", "version_downgrade": "on", "payment_frequency": "once",
            "unit_cost": "10", "currency": "EUR", "secondary_use_count": "0", "copyleft": "", "action": "draft"}
    data.update(overrides)
    return data


# --- the list ----------------------------------------------------------------------------------

def test_the_list_shows_rows_of_the_chosen_repository_with_a_bounded_number_of_queries(
        client, cast, tenant_a, django_assert_max_num_queries):
    for i in range(30):
        make(tenant_a, cast["admin"], identifier=f"L-{i}", contract=None)
    with scope(tenant=tenant_a):
        whatif = Repository.objects.create(tenant=tenant_a, name="What-if")
    make(tenant_a, cast["admin"], identifier="IN-WHATIF", repository=whatif)
    client.force_login(cast["license_manager"])
    with django_assert_max_num_queries(20):
        response = client.get(url("list", tenant_a) + "?per_page=50")
    assert response.status_code == 200
    body = response.content.decode()
    assert "L-29" in body and "IN-WHATIF" not in body and "Last refreshed" in body
    response = client.get(url("list", tenant_a) + f"?repository={whatif.pk}")
    assert "IN-WHATIF" in response.content.decode() and "L-29" not in response.content.decode()


def test_status_filters_and_the_active_only_toggle(client, cast, tenant_a):
    published = make(tenant_a, cast["admin"], publish=True, identifier="PUB-1")
    make(tenant_a, cast["admin"], identifier="ERR-1", quantity=None)
    client.force_login(cast["auditor"])
    body = client.get(url("list", tenant_a) + "?status=draft_errors").content.decode()
    assert "ERR-1" in body and "PUB-1" not in body
    body = client.get(url("list", tenant_a) + "?active=1").content.decode()
    assert "PUB-1" in body and "ERR-1" not in body
    assert published.state == State.PUBLISHED


def test_column_filters_with_operators(client, cast, tenant_a):
    make(tenant_a, cast["admin"], identifier="BIG", quantity=500)
    make(tenant_a, cast["admin"], identifier="SMALL", quantity=5)
    client.force_login(cast["license_manager"])
    body = client.get(url("list", tenant_a) + "?quantity=100&quantity__op=gt").content.decode()
    assert "BIG" in body and "SMALL" not in body
    body = client.get(url("list", tenant_a) + "?identifier=sma&identifier__op=istartswith").content.decode()
    assert "SMALL" in body and "BIG" not in body


def test_export_returns_exactly_the_filtered_rows_whatever_the_sort(client, cast, tenant_a):
    for i, qty in enumerate((5, 50, 500, 7)):
        make(tenant_a, cast["admin"], identifier=f"E-{i}", quantity=qty)
    client.force_login(cast["auditor"])
    client.post(url("list", tenant_a), {"columns": ["identifier", "quantity", "state"]})
    base = url("list", tenant_a) + "?quantity=6&quantity__op=gt&export=tsv"
    exports = []
    for sort in ("", "&sort=-quantity", "&sort=identifier"):
        response = client.get(base + sort)
        assert response.status_code == 200
        exports.append(b"".join(response.streaming_content).decode())
    assert exports[0] == exports[1] == exports[2]
    lines = exports[0].strip().split("\n")
    assert lines[0].split("\t") == ["Identifier", "Quantity", "Status"]
    assert [line.split("\t")[0] for line in lines[1:]] == ["E-1", "E-2", "E-3"]


def test_the_export_command_kind_lists_every_entitlement(cast, tenant_a):
    from sam.exporting import export

    ent = make(tenant_a, cast["admin"], publish=True, sku="X-1", contract=None)
    with scope(tenant=tenant_a):
        data = export(what="entitlements", tenant=tenant_a, as_of=dt.date.today())
        rows = list(data.rows)
    header = list(data.header)
    for column in ("id", "type", "status", "publisher", "product", "total", "cost", "errors", "warnings"):
        assert column in header
    row = dict(zip(header, rows[0], strict=True))
    assert row["id"] == ent.pk and row["status"] == "published" and row["total"] == Decimal(10)
    assert row["cost"] == Decimal("20.00") and "contract.missing" in row["warnings"]


# --- the editor (no JavaScript needed) -----------------------------------------------------------

def test_a_license_is_saved_as_draft_and_published_with_a_plain_form_post(client, cast, tenant_a):
    with scopes_disabled():
        product = ProductFactory(title="Visio", version="2021", edition="Professional")
    client.force_login(cast["license_manager"])
    response = client.post(url("new-license", tenant_a), editor_post(
        vendor=product.publisher.name, title="Visio", version_type="dot", version="2021", edition="Professional",
        quantity="", management_group_name="EMEA"))
    assert response.status_code == 302
    with scope(tenant=tenant_a):
        ent = Entitlement.objects.get()
        assert ent.product == product and ent.management_group.name == "EMEA"
        assert ent.state == State.DRAFT_ERRORS and "quantity.missing" in ent.errors
    # Publishing with the error keeps a draft and says why.
    response = client.post(url("edit", tenant_a, pk=ent.pk), editor_post(
        vendor=product.publisher.name, title="Visio", version_type="dot", version="2021", edition="Professional",
        quantity="", action="publish"), follow=True)
    assert "fix the errors first" in response.content.decode()
    with scope(tenant=tenant_a):
        assert Entitlement.objects.get(pk=ent.pk).status == Status.DRAFT
    response = client.post(url("edit", tenant_a, pk=ent.pk), editor_post(
        vendor=product.publisher.name, title="Visio", version_type="dot", version="2021", edition="Professional",
        quantity="25", action="publish"))
    assert response.status_code == 302
    with scope(tenant=tenant_a):
        ent.refresh_from_db()
        assert ent.status == Status.PUBLISHED and ent.quantity == 25 and ent.cost == Decimal("250.00")
        assert ent.modified_by_user


def test_save_draft_on_a_published_license_moves_it_to_draft(client, cast, tenant_a):
    ent = make(tenant_a, cast["admin"], publish=True)
    client.force_login(cast["license_manager"])
    client.post(url("edit", tenant_a, pk=ent.pk), editor_post(
        vendor=ent.product.publisher.name, title=ent.product.title, version_type="dot", version=ent.product.version,
        edition=ent.product.edition, action="draft"))
    with scope(tenant=tenant_a):
        assert Entitlement.objects.get(pk=ent.pk).status == Status.DRAFT


def test_a_sku_prefills_and_locks_the_derived_fields(client, cast, tenant_a):
    with scopes_disabled():
        sku = SkuFactory(part_number="9EM-00652", units=Decimal(2), license_type="subscription", term_months=12,
                         product=ProductFactory(title="SQL Server", version="2022", edition="Enterprise"))
    client.force_login(cast["license_manager"])
    response = client.post(url("new-license", tenant_a), editor_post(sku="9EM-00652", action="refresh"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-locked="title"' in body and 'data-locked="units"' in body and 'value="SQL Server"' in body
    # A tampered post cannot change a locked field: the SKU's values win.
    client.post(url("new-license", tenant_a), editor_post(
        sku="9EM-00652", title="Something else", units="7", quantity="3", start_date="2026-01-31"))
    with scope(tenant=tenant_a):
        ent = Entitlement.objects.get()
        assert ent.product == sku.product and ent.units == 2 and ent.from_sku
        assert ent.term == "subscription" and ent.end_date == dt.date(2027, 1, 31) and ent.total == 6


def test_the_compute_endpoint_derives_total_end_date_duration_and_cost(client, cast, tenant_a):
    client.force_login(cast["license_manager"])
    data = {"quantity": "4", "units": "2", "unit_cost": "3", "payment_frequency": "monthly", "term": "subscription",
            "start_date": "2026-01-31", "duration_months": "1", "end_date": "", "currency": "EUR"}
    body = client.post(url("compute", tenant_a), data, HTTP_HX_REQUEST="true",
                       HTTP_HX_TRIGGER_NAME="duration_months").content.decode()
    assert '<output id="out-total" hx-swap-oob="true">8</output>' in body
    assert 'value="2026-02-28"' in body
    assert "24.00 EUR" in body  # 4 × 2 × 3 × 1 monthly payment
    data.update(duration_months="", end_date="2027-01-31")
    body = client.post(url("compute", tenant_a), data, HTTP_HX_REQUEST="true",
                       HTTP_HX_TRIGGER_NAME="end_date").content.decode()
    assert 'name="duration_months" id="id_duration_months" min="0" value="12"' in body
    assert "288.00 EUR" in body  # 8 × 3 × 12 payments


def test_autocomplete_offers_vendors_titles_and_skus(client, cast, tenant_a):
    with scopes_disabled():
        SkuFactory(part_number="ABC-123", product=ProductFactory(title="Visio", publisher__name="Microsoft"))
    client.force_login(cast["auditor"])
    body = client.get(url("autocomplete-products", tenant_a) + "?field=vendor&vendor=micro").content.decode()
    assert '<option value="Microsoft">' in body
    body = client.get(url("autocomplete-products", tenant_a) + "?field=title&vendor=Microsoft&title=vis").content.decode()
    assert '<option value="Visio">' in body
    body = client.get(url("autocomplete-skus", tenant_a) + "?sku=abc").content.decode()
    assert 'value="ABC-123"' in body
    data = client.get(url("autocomplete-skus", tenant_a) + "?q=abc&format=json").json()
    assert data["results"][0]["sku"] == "ABC-123"


def test_license_keys_are_masked_except_for_administrators(client, cast, tenant_a):
    ent = make(tenant_a, cast["admin"])
    with scope(tenant=tenant_a):
        services.license_key_add(entitlement=ent, actor=cast["admin"], key="ABCDE-FGHIJ-KLMNO-PQRST")
    client.force_login(cast["license_manager"])
    body = client.get(url("edit", tenant_a, pk=ent.pk)).content.decode()
    assert "ABCDE-FGHIJ" not in body and "QRST" in body
    client.force_login(cast["admin"])
    assert "ABCDE-FGHIJ-KLMNO-PQRST" in client.get(url("edit", tenant_a, pk=ent.pk)).content.decode()
    with scope(tenant=tenant_a):
        event = AuditEvent.objects.get(action="entitlements.license_key.added")
        assert "ABCDE" not in str(event.after)


# --- bulk actions ----------------------------------------------------------------------------------

def test_bulk_publish_move_to_draft_clone_and_delete(client, cast, tenant_a):
    a = make(tenant_a, cast["admin"])
    b = make(tenant_a, cast["admin"])
    bad = make(tenant_a, cast["admin"], quantity=None)
    client.force_login(cast["license_manager"])
    client.post(url("bulk", tenant_a), {"action": "publish", "selected": [a.pk, b.pk, bad.pk]})
    with scope(tenant=tenant_a):
        assert set(Entitlement.objects.filter(status=Status.PUBLISHED).values_list("pk", flat=True)) == {a.pk, b.pk}
    client.post(url("bulk", tenant_a), {"action": "unpublish", "selected": [a.pk]})
    response = client.post(url("bulk", tenant_a), {"action": "clone", "selected": [b.pk]})
    with scope(tenant=tenant_a):
        clone = Entitlement.objects.order_by("-pk").first()
        assert response["Location"] == url("edit", tenant_a, pk=clone.pk)
        assert clone.status == Status.DRAFT and clone.product_id == b.product_id
    response = client.post(url("bulk", tenant_a), {"action": "edit", "selected": [a.pk, b.pk]}, follow=True)
    assert "exactly one" in response.content.decode()
    client.post(url("bulk", tenant_a), {"action": "delete", "selected": [a.pk, clone.pk]})
    with scope(tenant=tenant_a):
        assert set(Entitlement.objects.values_list("pk", flat=True)) == {b.pk, bad.pk}
        assert Entitlement.objects.get(pk=a.pk if False else b.pk).status == Status.PUBLISHED


# --- roles and tenancy -------------------------------------------------------------------------------

def test_the_auditor_reads_and_exports_but_every_post_is_forbidden(client, cast, tenant_a):
    ent = make(tenant_a, cast["admin"])
    with scope(tenant=tenant_a):
        contract = ContractFactory(tenant=tenant_a)
        repo = Repository.objects.create(tenant=tenant_a, name="Scenario")
    client.force_login(cast["auditor"])
    for name, kwargs in (("list", {}), ("edit", {"pk": ent.pk}), ("contracts", {}), ("contract", {"pk": contract.pk}),
                         ("repositories", {}), ("renewals", {})):
        assert client.get(url(name, tenant_a, **kwargs)).status_code == 200, name
    assert client.get(url("list", tenant_a) + "?export=tsv").status_code == 200
    posts = [("bulk", {}), ("new-license", {}), ("new-maintenance", {}), ("edit", {"pk": ent.pk}),
             ("action", {"pk": ent.pk}), ("compute", {}), ("contract-new", {}), ("contract", {"pk": contract.pk}),
             ("repositories", {}), ("repository-delete", {"pk": repo.pk})]
    for name, kwargs in posts:
        response = client.post(url(name, tenant_a, **kwargs), {"action": "delete", "selected": [ent.pk],
                                                                "name": "x", "number": "x"})
        assert response.status_code == 403, name
    assert client.get(url("new-license", tenant_a)).status_code == 403
    with scope(tenant=tenant_a):
        assert Entitlement.objects.filter(pk=ent.pk).exists() and Repository.objects.filter(pk=repo.pk).exists()


def test_a_foreign_tenants_entitlement_is_a_404(client, cast, tenant_a, tenant_b):
    ent = make(tenant_a, cast["admin"])
    client.force_login(cast["b_admin"])
    assert client.get(url("edit", tenant_b, pk=ent.pk)).status_code == 404
    assert client.post(url("action", tenant_b, pk=ent.pk), {"action": "delete"}).status_code == 404
    response = client.post(url("bulk", tenant_b), {"action": "delete", "selected": [ent.pk]})
    assert response.status_code == 302
    with scope(tenant=tenant_a):
        assert Entitlement.objects.filter(pk=ent.pk).exists()


def test_every_change_through_the_pages_is_in_the_audit_log(client, cast, tenant_a):
    client.force_login(cast["license_manager"])
    client.post(url("contract-new", tenant_a), {"number": "EA-1", "publisher_name": "Contoso", "name": "EA"})
    with scope(tenant=tenant_a):
        contract = Contract.objects.get(number="EA-1")
    client.post(url("contract", tenant_a, pk=contract.pk), {"number": "EA-1", "publisher_name": "Contoso",
                                                             "name": "Enterprise", "action": "save"})
    client.post(url("repositories", tenant_a), {"name": "What-if"})
    client.post(url("new-maintenance", tenant_a), editor_post(title="Tool", term="subscription",
                                                                      duration_months="12", contract=contract.pk))
    with scope(tenant=tenant_a):
        ent = Entitlement.objects.get()
        assert ent.type == "maintenance" and ent.end_date == dt.date(2027, 1, 1)
    client.post(url("action", tenant_a, pk=ent.pk), {"action": "publish"})
    client.post(url("action", tenant_a, pk=ent.pk), {"action": "unpublish"})
    client.post(url("action", tenant_a, pk=ent.pk), {"action": "key-add", "key": "K-1234-5678"})
    client.post(url("action", tenant_a, pk=ent.pk), {"action": "delete"})
    with scope(tenant=tenant_a):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"entitlements.contract.created", "entitlements.contract.updated", "entitlements.repository.created",
            "entitlements.entitlement.created", "entitlements.entitlement.published",
            "entitlements.entitlement.unpublished", "entitlements.license_key.added",
            "entitlements.entitlement.deleted"} <= actions


def test_documents_attach_to_an_agreement_and_download(client, cast, tenant_a, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    with scope(tenant=tenant_a):
        contract = ContractFactory(tenant=tenant_a)
    client.force_login(cast["license_manager"])
    client.post(url("contract", tenant_a, pk=contract.pk), {
        "action": "document-add", "file": SimpleUploadedFile("ea.pdf", b"%PDF-1.4 agreement"), "name": "EA signed"})
    with scope(tenant=tenant_a):
        doc = contract.documents.get()
    response = client.get(url("document", tenant_a, pk=doc.pk))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 agreement"
    client.force_login(cast["b_admin"])
    assert client.get(url("document", tenant_a, pk=doc.pk)).status_code == 404


def test_renewal_notices_and_the_digest(client, cast, tenant_a, mailoutbox):
    from entitlements.tasks import renewal_digest

    today = dt.date.today()
    make(tenant_a, cast["admin"], publish=True, identifier="SOON", term="subscription",
         start_date=today - dt.timedelta(days=300), end_date=today + dt.timedelta(days=20))
    client.force_login(cast["auditor"])
    body = client.get(url("renewals", tenant_a) + "?days=30").content.decode()
    assert "20</span>" in body
    result = renewal_digest(tenant_a.pk)
    assert result == {tenant_a.slug: 1}
    assert len(mailoutbox) == 1 and "Ending within 30 days: 1" in mailoutbox[0].body
    assert set(mailoutbox[0].to) == {"a-admin@example.test", "a-license_manager@example.test"}


def test_a_license_created_from_a_what_if_repository_lands_there(client, cast, tenant_a):
    with scope(tenant=tenant_a):
        whatif = Repository.objects.create(tenant=tenant_a, name="What-if")
    client.force_login(cast["license_manager"])
    body = client.get(url("new-license", tenant_a) + f"?repository={whatif.pk}").content.decode()
    assert f'<option value="{whatif.pk}" selected>What-if</option>' in body
    client.post(url("new-license", tenant_a), editor_post(title="Tool", repository=whatif.pk))
    with scope(tenant=tenant_a):
        assert Entitlement.objects.get().repository == whatif
