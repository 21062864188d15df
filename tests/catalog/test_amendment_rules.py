"""Tenant amendment forms for product terms, edition ranks, processors, assignments and suites,
and the ``bundles`` file kind: each writes the tenant's layer only, validated and audited."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scope

from catalog.models import (
    BundleComponent,
    LicenseModel,
    TenantBundleComponent,
    TenantProductAssignment,
    TenantProductTerms,
)
from catalog.selectors import (
    assignments_effective,
    bundle_components_effective,
    edition_rank_lookup,
    processor_lookup,
    product_terms_effective,
)
from sam.importing import import_file
from sam.models import AuditEvent
from tests.requirements_engine.factories import ProductFactory, PublisherFactory

pytestmark = pytest.mark.django_db


def url(name, tenant, **kw):
    return reverse(f"catalog:{name}", kwargs={"tenant": tenant.slug, **kw})


@pytest.fixture
def suite(db):
    ms = PublisherFactory(name="Microsoft")
    return {"suite": ProductFactory(publisher=ms, title="Microsoft 365", version="E3", edition=""),
            "word": ProductFactory(publisher=ms, title="Word", version="2024", edition=""),
            "excel": ProductFactory(publisher=ms, title="Excel", version="2024", edition="")}


def test_product_terms_by_form(client, cast, tenant_a, suite):
    LicenseModel.objects.create(name="Per User", assignment="named_user", metric="user")
    client.force_login(cast["license_manager"])
    data = {"product": suite["word"].pk, "default_license_model": "Per User", "min_entitlement_days": "90",
            "confirmation": "manual", "second_copy": "on", "version_downgrade": "on"}
    assert client.post(url("amend-product-terms-new", tenant_a), data).status_code == 302
    with scope(tenant=tenant_a):
        terms = product_terms_effective(tenant=tenant_a, product_ids=[suite["word"].pk])[suite["word"].pk]
        assert (terms.default_license_model, terms.min_entitlement_days, terms.confirmation, terms.second_copy) == (
            "Per User", 90, "manual", True)
        assert AuditEvent.objects.filter(action="catalog.product_terms.created").count() == 1
    # A second terms row for the same product is refused, beside the form.
    response = client.post(url("amend-product-terms-new", tenant_a), data)
    assert response.status_code == 200
    with scope(tenant=tenant_a):
        assert TenantProductTerms.objects.count() == 1


def test_an_unknown_default_license_model_is_refused(client, cast, tenant_a, suite):
    client.force_login(cast["admin"])
    response = client.post(url("amend-product-terms-new", tenant_a), {
        "product": suite["word"].pk, "default_license_model": "Nope", "min_entitlement_days": "0",
        "confirmation": "automatic"})
    assert response.status_code == 200
    with scope(tenant=tenant_a):
        assert not TenantProductTerms.objects.exists()


def test_edition_ranks_and_processors_by_form(client, cast, tenant_a):
    client.force_login(cast["license_manager"])
    assert client.post(url("amend-edition-rank-new", tenant_a), {
        "publisher": "Contoso", "title": "Draw", "edition": "Pro", "rank": "20"}).status_code == 302
    refused = client.post(url("amend-processor-new", tenant_a), {"model": "Xeon Gold*", "core_factor": "-0.5"})
    assert refused.status_code == 200 and "above zero" in refused.content.decode()
    assert client.post(url("amend-processor-new", tenant_a), {
        "model": "Xeon Gold*", "core_factor": "0.5", "pvu_per_core": "70"}).status_code == 302
    with scope(tenant=tenant_a):
        assert edition_rank_lookup(tenant=tenant_a)("CONTOSO", "draw", "Pro") == 20
        assert processor_lookup(tenant=tenant_a)("Xeon Gold 6248", 2) == (Decimal("0.500"), 70)


def test_assignments_by_form_and_a_dependency_needs_its_source(client, cast, tenant_a, suite):
    client.force_login(cast["license_manager"])
    assert client.post(url("amend-assignment-new", tenant_a), {
        "kind": "group", "key": "APP-Word", "product": suite["word"].pk}).status_code == 302
    refused = client.post(url("amend-assignment-new", tenant_a), {"kind": "dependency", "product": suite["excel"].pk})
    assert refused.status_code == 200 and "brings this one" in refused.content.decode()
    assert client.post(url("amend-assignment-new", tenant_a), {
        "kind": "dependency", "product": suite["excel"].pk, "source_product": suite["word"].pk}).status_code == 302
    with scope(tenant=tenant_a):
        assert [a.key for a in assignments_effective(tenant=tenant_a, kind="group")] == ["APP-Word"]
        [dep] = TenantProductAssignment.objects.filter(kind="dependency")
        assert (dep.source_product_id, dep.product_id, dep.key) == (suite["word"].pk, suite["excel"].pk, "")


def test_a_suite_component_by_form(client, cast, tenant_a, tenant_b, suite):
    client.force_login(cast["license_manager"])
    own = client.post(url("amend-bundle-new", tenant_a), {"bundle": suite["suite"].pk, "component": suite["suite"].pk})
    assert own.status_code == 200 and "cannot contain itself" in own.content.decode()
    assert client.post(url("amend-bundle-new", tenant_a), {
        "bundle": suite["suite"].pk, "component": suite["word"].pk}).status_code == 302
    with scope(tenant=tenant_a):
        assert bundle_components_effective(tenant=tenant_a)[suite["suite"].pk] == {suite["word"].pk}
        assert AuditEvent.objects.filter(action="catalog.bundle.created").count() == 1
    with scope(tenant=tenant_b):
        assert suite["suite"].pk not in bundle_components_effective(tenant=tenant_b)
    page = client.get(url("amendments", tenant_a)).content.decode()
    assert "Microsoft Word 2024" in page
    # Auditors read the form but cannot post it.
    client.force_login(cast["auditor"])
    assert client.post(url("amend-bundle-new", tenant_a), {
        "bundle": suite["suite"].pk, "component": suite["excel"].pk}).status_code == 403


BUNDLES = ("suite_publisher\tsuite_product\tsuite_version\tsuite_edition\tpublisher\tproduct\tversion\tedition\n"
           "Microsoft\tMicrosoft 365\tE3\t\tMicrosoft\tWord\t2024\t\n"
           "microsoft\tmicrosoft 365\te3\t\tMicrosoft\tExcel\t2024\t\n"
           "Microsoft\tMicrosoft 365\tE3\t\tMicrosoft\tPowerPoint\t2024\t\n"
           "Microsoft\tMicrosoft 365\tE3\t\tMicrosoft\tMicrosoft 365\tE3\t\n")


def test_the_bundles_kind_writes_the_tenants_layer_only(tenant_a, suite):
    with scope(tenant=tenant_a):
        result = import_file(kind="bundles", source=BUNDLES.encode(), tenant=tenant_a, filename="b.tsv",
                             recompute=False)
        assert (result.created, result.rejected) == (2, 2)
        assert [e.split(" –")[0] for e in result.errors] == ["Row 4, product: product.unknown",
                                                            "Row 5, product: bundle.self"]
        assert bundle_components_effective(tenant=tenant_a)[suite["suite"].pk] == {suite["word"].pk,
                                                                                   suite["excel"].pk}
        assert TenantBundleComponent.objects.count() == 2
        again = import_file(kind="bundles", source=BUNDLES.encode(), tenant=tenant_a, filename="b.tsv",
                            recompute=False)
        assert (again.created, again.unchanged) == (0, 2)
    assert not BundleComponent.objects.exists()  # the master is untouched


def test_the_bundles_kind_without_a_tenant_writes_the_master(suite):
    result = import_file(kind="bundles", source=BUNDLES.encode(), tenant=None, filename="b.tsv", recompute=False)
    assert result.created == 2
    assert set(BundleComponent.objects.values_list("component__title", flat=True)) == {"Word", "Excel"}
