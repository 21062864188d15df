from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope

from catalog.demo import DEMO_SKUS, MASTER_DIR, MASTER_KINDS
from catalog.models import Product, TenantLicenseModel, TenantSkuAlias
from catalog.services import product_get_or_create
from inventory.models import Device, Fingerprint, Installation
from sam.importing import import_file
from sam.models import AuditEvent

pytestmark = pytest.mark.django_db


def url(name, tenant, **kw):
    return reverse(f"catalog:{name}", kwargs={"tenant": tenant.slug, **kw})


@pytest.fixture
def master(db):
    for kind in MASTER_KINDS:
        import_file(kind=kind, source=MASTER_DIR / f"{kind}.csv", tenant=None, recompute=False)
    import_file(kind="catalog", source=DEMO_SKUS, tenant=None, recompute=False)


def test_every_catalog_page_renders_for_an_auditor(client, cast, tenant_a, master):
    client.force_login(cast["auditor"])
    sql = Product.objects.get(title="SQL Server", version="2022", edition="Enterprise")
    for target in (url("products", tenant_a), url("product", tenant_a, pk=sql.pk), url("skus", tenant_a),
                   url("license-models", tenant_a), url("license-model", tenant_a) + "?name=Oracle%20Processor",
                   url("fingerprints", tenant_a), url("amendments", tenant_a)):
        response = client.get(target)
        assert response.status_code == 200, target
    page = client.get(url("product", tenant_a, pk=sql.pk)).content.decode()
    assert "7JQ-01823" in page and "SQL Server Per Core" in page
    assert "SQL Server 2019 Enterprise" in page  # covered by version downgrade
    assert "SQL Server 2022 Standard" in page  # covered by edition downgrade


def test_the_products_list_filters_exports_and_keeps_its_query_count(client, cast, tenant_a, master,
                                                                     django_assert_max_num_queries):
    client.force_login(cast["license_manager"])
    with django_assert_max_num_queries(14):
        response = client.get(url("products", tenant_a))
    assert response.status_code == 200
    for i in range(60):
        product_get_or_create(publisher="Bulk", title=f"T{i}", version="1", edition="")
    with django_assert_max_num_queries(14):
        assert client.get(url("products", tenant_a)).status_code == 200
    response = client.get(url("products", tenant_a) + "?title=Windows&title__op=icontains&export=tsv")
    body = b"".join(response.streaming_content).decode()
    lines = body.strip().split("\n")
    # Windows Server 2016-2025 Standard/Datacenter (4 x 2), Essentials 2019-2025 (3), Windows Server CAL
    # 2019-2025 User/Device (3 x 2), SAP GUI for Windows 7.70/8.00 (2): 8 + 3 + 6 + 2 = 19
    assert len(lines) == 1 + 19
    assert "Windows Server Per Core" in body


def test_a_product_another_tenant_introduced_is_a_404(client, cast, tenant_a, tenant_b):
    with scope(tenant=tenant_b):
        secret = product_get_or_create(publisher="B Corp", title="Secret", version="1", edition="", tenant=tenant_b)
    client.force_login(cast["admin"])
    assert client.get(url("product", tenant_a, pk=secret.pk)).status_code == 404
    found = client.get(url("autocomplete-products", tenant_a) + "?q=Secret").json()
    assert found == []


def test_product_autocomplete_answers_json_and_options_step_by_step(client, cast, tenant_a, master):
    client.force_login(cast["clearing"])
    items = client.get(url("autocomplete-products", tenant_a) + "?q=office 2024 plus").json()
    assert [i["label"] for i in items] == ["Microsoft Office LTSC 2024 Professional Plus"]
    assert set(items[0]) >= {"id", "label", "publisher", "title", "version", "edition"}
    pubs = client.get(url("autocomplete-products", tenant_a) + "?field=publisher&q=micro").json()
    assert [p["label"] for p in pubs] == ["Microsoft"]
    titles = client.get(url("autocomplete-products", tenant_a) + "?field=title&publisher=Microsoft&q=sql").json()
    assert [t["label"] for t in titles] == ["SQL Server", "SQL Server CAL"]
    narrowed = "?publisher=Microsoft&title=SQL Server&q="
    versions = client.get(url("autocomplete-products", tenant_a) + narrowed + "2022").json()
    assert [(v["version"], v["edition"]) for v in versions] == [
        ("2022", "Developer"), ("2022", "Enterprise"), ("2022", "Express"), ("2022", "Standard"), ("2022", "Web")]
    versions = client.get(url("autocomplete-products", tenant_a) + narrowed + "Enterprise").json()
    assert [(v["version"], v["edition"]) for v in versions] == [
        ("2016", "Enterprise"), ("2017", "Enterprise"), ("2019", "Enterprise"), ("2022", "Enterprise"),
        ("2025", "Enterprise"), ("2025", "Enterprise Developer")]
    html = client.get(url("autocomplete-products", tenant_a) + "?q=visio", HTTP_HX_REQUEST="true").content.decode()
    # Visio LTSC 2016/2019/2021/2024 Standard and Professional (8), Visio Plan 1 and 2 (2), the empty choice (1)
    assert html.count("<option") == 8 + 2 + 1 and "Visio LTSC 2021 Professional" in html


def test_sku_autocomplete_finds_part_numbers_descriptions_and_aliases(client, cast, tenant_a, master):
    with scope(tenant=tenant_a):
        TenantSkuAlias.objects.create(tenant=tenant_a, alias="RESELLER-SQL", part_number="7NQ-01708")
    client.force_login(cast["clearing"])
    items = client.get(url("autocomplete-skus", tenant_a) + "?q=2-core pack").json()
    assert {"9EM-00653", "7NQ-01708"} <= {i["id"] for i in items}
    alias = client.get(url("autocomplete-skus", tenant_a) + "?q=reseller-sql").json()
    assert alias[0]["part_number"] == "7NQ-01708" and alias[0]["license_model"] == "SQL Server Per Core"
    html = client.get(url("autocomplete-skus", tenant_a) + "?q=7NQ", HTTP_HX_REQUEST="true").content.decode()
    assert 'value="7NQ-01708"' in html


def test_classifying_a_fingerprint_needs_catalog_change_and_is_audited(client, cast, tenant_a, master):
    with scope(tenant=tenant_a):
        device = Device.objects.create(tenant=tenant_a, name="PC-9")
        fp = Fingerprint.objects.create(tenant=tenant_a, publisher="Acme", name="Acme Widget", version="2")
        Installation.objects.create(tenant=tenant_a, device=device, fingerprint=fp)
    visio = Product.objects.get(title="Visio LTSC", version="2021", edition="Professional")
    target = url("fingerprint-classify", tenant_a, pk=fp.pk)
    client.force_login(cast["auditor"])
    assert "Acme Widget" in client.get(url("fingerprints", tenant_a)).content.decode()
    assert client.post(target, {"classification": "product", "product": visio.pk}).status_code == 403
    client.force_login(cast["license_manager"])
    response = client.post(target, {"classification": "product", "product": visio.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Classified as" in response.content.decode()
    with scope(tenant=tenant_a):
        fp.refresh_from_db()
        assert (fp.classification, fp.product_id, fp.manual) == ("product", visio.pk, True)
        assert AuditEvent.objects.filter(action="catalog.fingerprint.classified").count() == 1
    assert "Acme Widget" not in client.get(url("fingerprints", tenant_a)).content.decode().split("Classified by")[0]


def test_a_foreign_fingerprint_cannot_be_classified(client, cast, tenant_a, tenant_b):
    with scope(tenant=tenant_b):
        foreign = Fingerprint.objects.create(tenant=tenant_b, publisher="B", name="B App")
    client.force_login(cast["admin"])
    assert client.post(url("fingerprint-classify", tenant_a, pk=foreign.pk),
                       {"classification": "irrelevant"}).status_code == 404


def test_a_license_model_amendment_validates_its_expression_and_is_audited(client, cast, tenant_a):
    client.force_login(cast["license_manager"])
    data = {"name": "Our Core Model", "assignment": "device", "metric": "core", "effective": "on",
            "quantity": "max(cores, 4) +", "rounding": "consumer", "description": ""}
    response = client.post(url("amend-license-model-new", tenant_a), data)
    assert response.status_code == 200 and "not valid" in response.content.decode()
    with scope(tenant=tenant_a):
        assert not TenantLicenseModel.objects.exists()
    data["quantity"] = "max(cores, 4)"
    response = client.post(url("amend-license-model-new", tenant_a), data)
    assert response.status_code == 302
    with scope(tenant=tenant_a):
        model = TenantLicenseModel.objects.get()
        assert model.quantity == "max(cores, 4)"
        assert AuditEvent.objects.filter(action="catalog.license_model.created", object_id=str(model.pk)).exists()
    # Delete it again.
    response = client.post(url("amend-license-model", tenant_a, pk=model.pk), {"action": "delete"})
    assert response.status_code == 302
    with scope(tenant=tenant_a):
        assert not TenantLicenseModel.objects.exists()
        assert AuditEvent.objects.filter(action="catalog.license_model.deleted").exists()


def test_an_alias_amendment_resolves_and_a_foreign_amendment_is_a_404(client, cast, tenant_a, tenant_b, master):
    client.force_login(cast["admin"])
    response = client.post(url("amend-alias-new", tenant_a), {"alias": "OFF-STD", "part_number": "021-10743"})
    assert response.status_code == 302
    from catalog.selectors import sku_resolve

    with scope(tenant=tenant_a):
        assert sku_resolve(tenant=tenant_a, part_number="off-std").sku.part_number == "021-10743"
    with scope(tenant=tenant_b):
        foreign = TenantSkuAlias.objects.create(tenant=tenant_b, alias="X", part_number="Y")
    assert client.get(url("amend-alias", tenant_a, pk=foreign.pk)).status_code == 404
    assert client.post(url("amend-alias", tenant_a, pk=foreign.pk), {"action": "delete"}).status_code == 404
