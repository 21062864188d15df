"""H2 and M1 of the security review (issue 14). Each test fails on b7f100c.

H2 — the reconciliation of a shared publisher listed every product of that publisher, including
those another tenant introduced privately; it reads through the visible-products selector now.
M1 — the audit pack (balance, requirements, entitlements, allocation, exemptions) asked only for
``export``, so clearing staff downloaded what every one of those pages refuses them.
"""
from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from catalog.models import Publisher
from sam.importing import import_file
from sam.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared_publisher_with_a_private_product(tenant_a, tenant_b):
    with scopes_disabled():
        import_file(kind="catalog", source=b"publisher,product,version\nMicrosoft,Office LTSC,2024\n",
                    filename="m.csv", recompute=False)
    with scope(tenant=tenant_b):
        import_file(kind="catalog", source=b"publisher,product,version\nMicrosoft,Secret Inhouse Tool,1\n",
                    tenant=tenant_b, filename="b.csv", recompute=False)
    return Publisher.objects.get(name="Microsoft", introduced_by__isnull=True)


def test_reconciliation_lists_only_the_products_this_tenant_may_see(client, cast, tenant_a,
                                                                    shared_publisher_with_a_private_product):
    from requirements_engine.selectors_balance import reconciliation

    publisher = shared_publisher_with_a_private_product
    with scope(tenant=tenant_a):
        r = reconciliation(tenant=tenant_a, publisher=publisher, scope="all", as_of=None)
    assert [p.title for p in r["products"]] == ["Office LTSC"]

    client.force_login(cast[Role.ADMIN])
    url = reverse("requirements:reconciliation", kwargs={"tenant": tenant_a.slug})
    response = client.get(url, {"publisher": publisher.pk})
    assert response.status_code == 200
    assert b"Office LTSC" in response.content
    assert b"Secret Inhouse Tool" not in response.content


def test_another_tenants_private_publisher_is_a_404_in_the_reconciliation(client, cast, tenant_a, tenant_b):
    with scope(tenant=tenant_b):
        import_file(kind="catalog", source=b"publisher,product\nHidden Vendor,Tool\n", tenant=tenant_b,
                    filename="b.csv", recompute=False)
    hidden = Publisher.objects.get(name="Hidden Vendor")
    client.force_login(cast[Role.ADMIN])
    url = reverse("requirements:reconciliation", kwargs={"tenant": tenant_a.slug})
    assert client.get(url, {"publisher": hidden.pk}).status_code == 404
    assert client.get(url, {"publisher": str(2**70)}).status_code == 404  # no 500 from an overflowing id


@pytest.mark.parametrize("role,status", [(Role.CLEARING, 403), (Role.AUDITOR, 200), (Role.LICENSE_MANAGER, 200),
                                         (Role.ADMIN, 200)])
def test_the_audit_pack_needs_the_permissions_of_what_it_holds(client, cast, tenant_a, role, status):
    client.force_login(cast[role])
    url = reverse("requirements:balance-audit-pack", kwargs={"tenant": tenant_a.slug})
    assert client.get(url).status_code == status
