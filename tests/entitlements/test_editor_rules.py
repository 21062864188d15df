"""Rules of the entitlement editor: SKU first with its list price, errors beside their field, no
negative cost, and an empty form creates nothing."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django_scopes import scope, scopes_disabled

from entitlements.models import Entitlement
from tests.entitlements.factories import ProductFactory, SkuFactory
from tests.entitlements.test_views import editor_post, url

pytestmark = pytest.mark.django_db

# Only the editor's own defaults (start date, term, units, quantity 5 ...): nothing names what was bought.
EMPTY = {"vendor": "", "title": "", "sku": "", "identifier": "", "unit_cost": "", "currency": ""}


def test_the_sku_comes_first_and_suggests_its_list_price_and_currency(client, cast, tenant_a):
    with scopes_disabled():
        SkuFactory(part_number="AP-100", list_price=Decimal("449.90"), currency="USD",
                   product=ProductFactory(title="Acrobat Pro", version="2024"))
    client.force_login(cast["license_manager"])
    page = client.get(url("new-license", tenant_a)).content.decode()
    product_section = page.split('id="product"')[1]
    assert product_section.index('name="sku"') < product_section.index('name="vendor"')
    response = client.post(url("new-license", tenant_a), editor_post(sku="AP-100", action="refresh",
                                                                     unit_cost="", currency=""))
    form = response.context["form"]
    assert (form["unit_cost"].value(), form["currency"].value()) == ("449.90", "USD")
    # A price the user typed is kept.
    typed = client.post(url("new-license", tenant_a), editor_post(sku="AP-100", action="refresh", unit_cost="399"))
    assert typed.context["form"]["unit_cost"].value() == "399"


def test_a_negative_cost_is_refused_beside_its_field(client, cast, tenant_a):
    client.force_login(cast["license_manager"])
    product = ProductFactory()
    response = client.post(url("new-license", tenant_a), editor_post(
        vendor=product.publisher.name, title=product.title, unit_cost="-5"))
    assert response.status_code == 400
    assert response.context["form"].errors["unit_cost"] == ["A cost cannot be negative."]
    with scope(tenant=tenant_a):
        assert not Entitlement.objects.exists()


@pytest.mark.parametrize("action", ["draft", "publish"])
def test_save_or_publish_on_an_empty_form_creates_nothing(client, cast, tenant_a, action):
    client.force_login(cast["license_manager"])
    response = client.post(url("new-license", tenant_a), editor_post(action=action, **EMPTY))
    assert response.status_code == 400
    assert "nothing was saved" in " ".join(response.context["form"].errors["sku"])
    with scope(tenant=tenant_a):
        assert not Entitlement.objects.exists()


def test_auditors_get_a_read_only_page_not_an_editor(client, cast, tenant_a):
    from tests.entitlements.test_views import make

    ent = make(tenant_a, cast["admin"], identifier="RO-1", quantity=3, unit_cost=Decimal("1200"), currency="EUR")
    client.force_login(cast["auditor"])
    response = client.get(url("edit", tenant_a, pk=ent.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="entitlement-detail"' in page and 'id="entitlement-form"' not in page
    assert "<input" not in page.split('id="entitlement-detail"')[1]  # no form fields at all
    assert "RO-1" in page and "3,600.00 EUR" in page  # cost 3 × 1 × 1,200.00
    # A license manager still gets the editor.
    client.force_login(cast["license_manager"])
    assert 'id="entitlement-form"' in client.get(url("edit", tenant_a, pk=ent.pk)).content.decode()
